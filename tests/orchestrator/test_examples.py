"""The example handler that ships with orchjobs, `disk_usage`, called as the orchestrator calls it."""

import logging
import shutil
from pathlib import Path

import pytest

from orchjobs.orchestrator.custom import CustomJobContext, CustomJobOutcome, JobFields, JobResult
from orchjobs.orchestrator.examples import disk_usage


def run(store_dir: Path, fields: JobFields) -> CustomJobOutcome:
    context = CustomJobContext(
        job_type="DiskUsage",
        job_id="job-1",
        store_dir=store_dir,
        log_path=store_dir / "orchestrator.log",
        logger=logging.getLogger("orchjobs.orchestrator.DiskUsage"),
    )
    return disk_usage(fields, context)


def test_disk_usage_reports_the_file_system_of_a_directory(tmp_path: Path) -> None:
    outcome = run(tmp_path, {"Path": str(tmp_path)})

    assert outcome.result is JobResult.SUCCESS
    assert isinstance(outcome.data, dict)
    assert (outcome.data["Path"], outcome.data["Kind"]) == (str(tmp_path), "Directory")
    total, free = shutil.disk_usage(tmp_path).total, outcome.data["FreeBytes"]
    assert outcome.data["TotalBytes"] == total
    assert isinstance(free, int) and 0 <= free <= total
    assert isinstance(outcome.data["UsedPercent"], float) and 0 <= outcome.data["UsedPercent"] <= 100
    assert outcome.message.startswith(f"The file system of {tmp_path} is ")
    assert outcome.message.endswith(" GiB free.")


def test_a_relative_path_is_taken_from_the_store_directory(tmp_path: Path) -> None:
    (tmp_path / "app.pem").write_text("")

    outcome = run(tmp_path, {"Path": "app.pem"})

    assert isinstance(outcome.data, dict)
    assert (outcome.result, outcome.data["Path"], outcome.data["Kind"]) == (
        JobResult.SUCCESS,
        str(tmp_path / "app.pem"),
        "File",
    )


@pytest.mark.parametrize("threshold", ["0", 0, 0.0])
def test_a_file_system_fuller_than_warn_above_percent_is_a_warning(tmp_path: Path, threshold: str | float) -> None:
    outcome = run(tmp_path, {"Path": ".", "WarnAbovePercent": threshold})

    assert outcome.result is JobResult.WARNING
    assert outcome.message.endswith("% used, more than 0%.")
    assert isinstance(outcome.data, dict) and "UsedPercent" in outcome.data


def test_warn_above_percent_may_be_sent_as_a_string(tmp_path: Path) -> None:
    assert run(tmp_path, {"Path": ".", "WarnAbovePercent": "100"}).result is JobResult.SUCCESS


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Path": "missing/dir"}, "The path {store}/missing/dir does not exist."),
        ({}, "The job needs a Path field: the file or directory whose file system to report."),
        ({"Path": ""}, "The job needs a Path field: the file or directory whose file system to report."),
        ({"Path": 42}, "The job needs a Path field: the file or directory whose file system to report."),
        ({"Path": ".", "WarnAbovePercent": "lots"}, "WarnAbovePercent must be a number from 0 to 100, not 'lots'."),
        ({"Path": ".", "WarnAbovePercent": 101}, "WarnAbovePercent must be a number from 0 to 100, not 101."),
        ({"Path": ".", "WarnAbovePercent": True}, "WarnAbovePercent must be a number from 0 to 100, not True."),
        ({"Path": ".", "WarnAbovePercent": "nan"}, "WarnAbovePercent must be a number from 0 to 100, not 'nan'."),
    ],
)
def test_disk_usage_fails_with_a_message_and_no_data(tmp_path: Path, fields: JobFields, message: str) -> None:
    outcome = run(tmp_path, fields)
    assert outcome == CustomJobOutcome(JobResult.FAILURE, message.format(store=tmp_path))
