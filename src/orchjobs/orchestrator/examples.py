"""Example custom-job handlers that ship with orchjobs; docs/custom-jobs.md walks through them.

`disk_usage` reports how full the file system holding a path is:

    orchjobs orchestrator ... --capability DiskUsage=orchjobs.orchestrator.examples:disk_usage

Fields: `Path` (required; relative paths are taken from the store directory) and `WarnAbovePercent` (optional,
default 90). It reads no file's contents, but tells whoever may schedule its jobs whether a path exists on the
orchestrator's host and how full its disk is.
"""

import shutil
import stat
from pathlib import Path

from orchjobs.orchestrator.custom import CustomJobContext, CustomJobOutcome, JobFields, JobResult, JsonValue

DEFAULT_WARN_ABOVE_PERCENT = 90.0


def disk_usage(fields: JobFields, context: CustomJobContext) -> CustomJobOutcome:
    """Success with the file system's usage as JSON data; Warning when it is fuller than WarnAbovePercent;
    Failure when the path does not exist or a field is not what it should be."""
    path, problem = _path(fields.get("Path"), context.store_dir)
    threshold, threshold_problem = _percent(fields.get("WarnAbovePercent", DEFAULT_WARN_ABOVE_PERCENT))
    if path is None or threshold is None:
        return CustomJobOutcome(JobResult.FAILURE, problem or threshold_problem)
    try:
        kind = _kind(path)
        usage = shutil.disk_usage(path)
    except FileNotFoundError:
        return CustomJobOutcome(JobResult.FAILURE, f"The path {path} does not exist.")
    except OSError as exc:
        return CustomJobOutcome(JobResult.FAILURE, f"The path {path} cannot be examined: {exc.strerror}.")
    available = usage.used + usage.free  # as df counts: blocks reserved for root are neither
    used_percent = round(100.0 * usage.used / available, 1) if available else 0.0
    context.logger.info("Disk usage of %s: %.1f%% used", path, used_percent)
    data: dict[str, JsonValue] = {
        "Path": str(path),
        "Kind": kind,
        "TotalBytes": usage.total,
        "UsedBytes": usage.used,
        "FreeBytes": usage.free,
        "UsedPercent": used_percent,
    }
    if used_percent > threshold:
        message = f"The file system of {path} is {used_percent}% used, more than {threshold:g}%."
        return CustomJobOutcome(JobResult.WARNING, message, data=data)
    message = f"The file system of {path} is {used_percent}% used; {_gib(usage.free)} free."
    return CustomJobOutcome(JobResult.SUCCESS, message, data=data)


def _path(value: JsonValue, store_dir: Path) -> tuple[Path | None, str]:
    if not isinstance(value, str) or not value.strip():
        return None, "The job needs a Path field: the file or directory whose file system to report."
    path = Path(value.strip())
    return (path if path.is_absolute() else store_dir / path), ""


def _percent(value: JsonValue) -> tuple[float | None, str]:
    """WarnAbovePercent as a number; Command sends field values as strings, so "85" counts as 85."""
    number = _number(value)
    if number is None or not 0 <= number <= 100:
        return None, f"WarnAbovePercent must be a number from 0 to 100, not {value!r}."
    return number, ""


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _kind(path: Path) -> str:
    mode = path.stat().st_mode  # FileNotFoundError for a path that is not there
    return "Directory" if stat.S_ISDIR(mode) else "File" if stat.S_ISREG(mode) else "Other"


def _gib(size: int) -> str:
    return f"{size / 1024**3:.1f} GiB"
