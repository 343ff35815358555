"""The application settings the job service reads (Command's AppSetting rows), their defaults, and the rule for
every setting's value. The migrations install the rows; a missing or unreadable value means its default."""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from orchjobs.domain.jobs import RetryPolicy
from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import InvalidRequestError

_SHORT_NAME = "short_name"


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _setting(short_name: str, default: int) -> int:
    """A dataclass field for the integer setting `short_name`."""
    return field(default=default, metadata={_SHORT_NAME: short_name})


def _switch(short_name: str, default: bool) -> bool:
    """A dataclass field for the Bool setting `short_name`."""
    return field(default=default, metadata={_SHORT_NAME: short_name})


def read_bool(text: str) -> bool | None:
    """True or False from a Bool setting's text (true/false, 1/0, yes/no, on/off in any case), None otherwise."""
    word = text.strip().lower()
    return True if word in TRUE_WORDS else False if word in _FALSE else None


def bool_text(value: bool) -> str:
    """How a Bool setting is stored and shown (as Command shows its own)."""
    return "True" if value else "False"


@dataclass(frozen=True)
class ServiceSettings:
    """Every application setting the service acts on, read together."""

    age_out_days: int = _setting("JobFailuresAndWarningsAgeOut", 7)
    heartbeat_minutes: int = _setting("AgentHeartbeatInterval", 5)
    job_retries: int = _setting("JobRetries", 3)
    retry_delay_minutes: int = _setting("JobRetryDelay", 5)
    in_process_timeout_minutes: int = _setting("JobInProcessTimeout", 60)
    auto_acknowledge: bool = _switch("AutoAcknowledgeFailures", False)
    retention_days: int = _setting("JobHistoryRetentionDays", 0)
    keep_runs: int = _setting("JobHistoryKeepRuns", 10)

    @classmethod
    def short_names(cls) -> tuple[str, ...]:
        return tuple(item.metadata[_SHORT_NAME] for item in fields(cls))

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> "ServiceSettings":
        """The settings from their stored text by short name; a value that is missing or not an integer is its
        default, so that a damaged row cannot stop dispatch or the sweeper."""
        read: dict[str, object] = {}
        for item in fields(cls):
            text = values.get(item.metadata[_SHORT_NAME])
            if text is None:
                continue
            if isinstance(item.default, bool):
                value: object = read_bool(text)
            else:
                value = lenient_int(text)
            if value is not None:
                read[item.name] = value
        return cls(**read)  # type: ignore[arg-type]

    def as_values(self) -> dict[str, str]:
        """The settings as stored text by short name: what `from_values` reads back."""
        return {item.metadata[_SHORT_NAME]: _text(getattr(self, item.name)) for item in fields(self)}

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(retries=self.job_retries, delay_minutes=self.retry_delay_minutes)


def _text(value: object) -> str:
    return bool_text(value) if isinstance(value, bool) else str(value)


def checked_value(*, short_name: str, value_type: str, value: object) -> str:
    """The text to store for a new value of a setting: an `Int` setting takes a whole number of at least 0, a `Bool`
    one true or false, any other a non-blank value. InvalidRequestError otherwise."""
    if value_type == "Bool":
        switch = value if isinstance(value, bool) else read_bool(str(value)) if value is not None else None
        if switch is None:
            raise InvalidRequestError(f"{short_name} must be true or false; got {value!r}.")
        return bool_text(switch)
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    if value_type == "Int":
        number = lenient_int(text)
        if number is None or number < 0:
            raise InvalidRequestError(f"{short_name} must be a whole number of at least 0; got {value!r}.")
        return str(number)
    if not text:
        raise InvalidRequestError(f"{short_name} needs a value.")
    return text
