"""The application settings the job service reads (Command's AppSetting rows), their defaults, and the rule for
every setting's value. The migrations install the rows; a missing or unreadable value means its default."""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from orchjobs.domain.jobs import RetryPolicy
from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import InvalidRequestError

_SHORT_NAME = "short_name"


def _setting(short_name: str, default: int) -> int:
    """A dataclass field for the integer setting `short_name`."""
    return field(default=default, metadata={_SHORT_NAME: short_name})


@dataclass(frozen=True)
class ServiceSettings:
    """Every application setting the service acts on, read together."""

    age_out_days: int = _setting("JobFailuresAndWarningsAgeOut", 7)
    heartbeat_minutes: int = _setting("AgentHeartbeatInterval", 5)
    job_retries: int = _setting("JobRetries", 3)
    retry_delay_minutes: int = _setting("JobRetryDelay", 5)
    in_process_timeout_minutes: int = _setting("JobInProcessTimeout", 60)

    @classmethod
    def short_names(cls) -> tuple[str, ...]:
        return tuple(item.metadata[_SHORT_NAME] for item in fields(cls))

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> "ServiceSettings":
        """The settings from their stored text by short name; a value that is missing or not an integer is its
        default, so that a damaged row cannot stop dispatch or the sweeper."""
        read = {}
        for item in fields(cls):
            try:
                read[item.name] = int(values[item.metadata[_SHORT_NAME]])
            except (KeyError, ValueError):
                continue
        return cls(**read)

    def as_values(self) -> dict[str, str]:
        """The settings as stored text by short name: what `from_values` reads back."""
        return {item.metadata[_SHORT_NAME]: str(getattr(self, item.name)) for item in fields(self)}

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(retries=self.job_retries, delay_minutes=self.retry_delay_minutes)


def checked_value(*, short_name: str, value_type: str, value: object) -> str:
    """The text to store for a new value of a setting: an `Int` setting takes a whole number of at least 0, any other
    a non-blank value. InvalidRequestError otherwise."""
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    if value_type == "Int":
        number = lenient_int(text)
        if number is None or number < 0:
            raise InvalidRequestError(f"{short_name} must be a whole number of at least 0; got {value!r}.")
        return str(number)
    if not text:
        raise InvalidRequestError(f"{short_name} needs a value.")
    return text
