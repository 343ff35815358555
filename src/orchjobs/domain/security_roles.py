"""What the Security API takes: role names, descriptions, permissions in either spelling, identities' account names
and types, and the bounds every request keeps to (a role's name and an account name fit their columns, a request
names at most so many permissions or identities)."""

import re
from collections.abc import Iterable, Mapping

from orchjobs.domain.permissions import CATALOGUE, grants, parse_permission
from orchjobs.errors import InvalidRequestError

MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 4000
MAX_PERMISSIONS = 200
MAX_IDENTITIES = 1000
# Command's identity types: an Active Directory user or group. orchjobs' users and token subjects are Users.
USER, GROUP = "User", "Group"
IDENTITY_TYPES = (USER, GROUP)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def checked_role_name(name: str | None) -> str:
    """A role's name as stored (surrounding spaces removed); 400 when missing, blank, too long or holding control
    characters."""
    return _checked_name(name, label="Name", what="the security role's name")


def checked_account_name(name: str | None, *, label: str = "AccountName") -> str:
    """An identity's account name as stored (`DOMAIN\\user`, a user name, a token subject); 400 as for a role name."""
    return _checked_name(name, label=label, what="the identity's account name")


def checked_description(text: str | None) -> str:
    """A role's description: required (Command requires it, empty is allowed), at most 4000 characters."""
    if text is None:
        raise InvalidRequestError("Description is required: the security role's description (it may be empty).")
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise InvalidRequestError(f"Description may be at most {MAX_DESCRIPTION_LENGTH} characters long.")
    return text


def checked_identity_type(text: str | None) -> str:
    """`User` (the default) or `Group`, in any case."""
    if text is None:
        return USER
    for known in IDENTITY_TYPES:
        if text.strip().casefold() == known.casefold():
            return known
    raise InvalidRequestError(f"IdentityType must be {' or '.join(IDENTITY_TYPES)}, not {text[:40]!r}.")


def parsed_permissions(given: Iterable[str]) -> tuple[str, ...]:
    """The v2 strings of permissions given in either spelling (`/agents/management/read/` or
    `AgentManagement:Read`), each once, in the order given; 400 naming the ones that are not permissions."""
    given = list(given)
    if len(given) > MAX_PERMISSIONS:
        raise InvalidRequestError(f"A security role may be given at most {MAX_PERMISSIONS} permissions at once.")
    parsed: dict[str, None] = {}
    unknown: list[str] = []
    for text in given:
        path = parse_permission(text) if len(text) <= MAX_NAME_LENGTH else None
        if path is None:
            unknown.append(text[:80])
        else:
            parsed[path] = None
    if unknown:
        names = ", ".join(repr(text) for text in unknown[:10])
        raise InvalidRequestError(
            f"Not a permission: {names}. Give Command's permissions as v2 strings (/agents/management/read/) or "
            "v1 Area:Permission pairs (AgentManagement:Read); docs/permissions.md lists them."
        )
    return tuple(parsed)


def area_and_level(v1: str) -> tuple[str, str]:
    """`AgentManagement:Read` → (`AgentManagement`, `Read`), as Command's v1 global permissions are shaped."""
    area, _, level = v1.partition(":")
    return area, level


def granted_by(roles: Mapping[str, Iterable[str]]) -> list[tuple[str, list[str]]]:
    """Each catalogued permission that the roles (name → the v2 strings it holds) grant, in catalogue order, with
    the names of the roles that grant it: what GET /Security/Identities/{id} shows."""
    held = {name: tuple(permissions) for name, permissions in roles.items()}
    pairs = []
    for permission in CATALOGUE:
        granting = sorted(name for name, strings in held.items() if grants(strings, permission.path))
        if granting:
            pairs.append((permission.path, granting))
    return pairs


def _checked_name(name: str | None, *, label: str, what: str) -> str:
    if name is None or not name.strip():
        raise InvalidRequestError(f"{label} is required: {what}.")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequestError(f"{label} may be at most {MAX_NAME_LENGTH} characters long.")
    if _CONTROL.search(name):
        raise InvalidRequestError(f"{label} may not contain control characters.")
    return name
