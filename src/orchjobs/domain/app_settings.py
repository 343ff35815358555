"""The application settings the job service reads (Command's AppSetting rows), their defaults, and the rule for
every setting's value. The migrations install the rows; a missing or unreadable value means its default."""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from orchjobs.domain.jobs import RetryPolicy
from orchjobs.domain.numbers import lenient_int
from orchjobs.errors import InvalidRequestError

_SHORT_NAME = "short_name"
_RANGE = "range"


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _setting(short_name: str, default: int, *, low: int, high: int) -> int:
    """A dataclass field for the integer setting `short_name`, whose values run from `low` to `high`."""
    return field(default=default, metadata={_SHORT_NAME: short_name, _RANGE: (low, high)})


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

    # Ranges: a day to ten years; a minute to a day or a week. A timeout of 0 turns the sweeper off, 0 retention days
    # keeps history for ever.
    age_out_days: int = _setting("JobFailuresAndWarningsAgeOut", 7, low=1, high=3650)
    heartbeat_minutes: int = _setting("AgentHeartbeatInterval", 5, low=1, high=1440)
    job_retries: int = _setting("JobRetries", 3, low=0, high=100)
    retry_delay_minutes: int = _setting("JobRetryDelay", 5, low=0, high=10080)
    in_process_timeout_minutes: int = _setting("JobInProcessTimeout", 60, low=0, high=10080)
    auto_acknowledge: bool = _switch("AutoAcknowledgeFailures", False)
    retention_days: int = _setting("JobHistoryRetentionDays", 0, low=0, high=36500)
    keep_runs: int = _setting("JobHistoryKeepRuns", 10, low=0, high=100000)

    @classmethod
    def short_names(cls) -> tuple[str, ...]:
        return tuple(item.metadata[_SHORT_NAME] for item in fields(cls))

    @classmethod
    def ranges(cls) -> dict[str, tuple[int, int]]:
        """The allowed values of each integer setting, by short name (lower case)."""
        return {
            item.metadata[_SHORT_NAME].lower(): item.metadata[_RANGE] for item in fields(cls) if _RANGE in item.metadata
        }

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
    """The text to store for a new value of a setting: an `Int` setting takes a whole number in its range (at least
    0 when it has none), a `Bool` one true or false, any other a non-blank value. InvalidRequestError otherwise."""
    if value_type == "Bool":
        switch = value if isinstance(value, bool) else read_bool(str(value)) if value is not None else None
        if switch is None:
            raise InvalidRequestError(f"{short_name} must be true or false; got {value!r}.")
        return bool_text(switch)
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    if value_type == "Int":
        number = lenient_int(text)
        low, high = ServiceSettings.ranges().get(short_name.lower(), (0, None))
        if number is None or number < low or (high is not None and number > high):
            bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise InvalidRequestError(f"{short_name} must be a whole number {bounds}; got {value!r}.")
        return str(number)
    if not text:
        raise InvalidRequestError(f"{short_name} needs a value.")
    return text
