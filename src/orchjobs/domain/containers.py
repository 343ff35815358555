"""Certificate store containers: the rules for a container's name and schedule. A container groups stores of one
store type; its schedule, when it overwrites its stores' schedules, becomes their inventory schedule."""

import re
from typing import Any

from orchjobs.domain.schedules import ScheduleError, canonical_schedule
from orchjobs.errors import InvalidRequestError

MAX_NAME_LENGTH = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def checked_container_name(name: str | None) -> str:
    """The name as stored: surrounding spaces removed; 400 when it is missing, blank, too long or holds control
    characters."""
    if name is None or not name.strip():
        raise InvalidRequestError("Name is required: the certificate store container's name.")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequestError(f"Name may be at most {MAX_NAME_LENGTH} characters long.")
    if _CONTROL.search(name):
        raise InvalidRequestError("Name may not contain control characters.")
    return name


def container_schedule(schedule: object) -> dict[str, Any] | None:
    """A container's schedule in canonical form, None for `Off` (no schedule); 400 for a schedule that is not one of
    Command's KeyfactorSchedule shapes."""
    try:
        canonical = canonical_schedule(schedule, allow_off=True)
    except ScheduleError as exc:
        raise InvalidRequestError(f"Schedule is not valid: {exc}") from None
    return None if "Off" in canonical else canonical
