"""`orchjobs orchestrator --capability NAME[=module:function]`: which custom job types an orchestrator reports and
which handler runs each, checked before it registers."""

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchjobs.cli import app
from orchjobs.orchestrator.custom import CustomJobType, echo_fields
from orchjobs.orchestrator.examples import disk_usage
from orchjobs.orchestrator.loading import CapabilityOptionError, custom_job_type, custom_job_types
from orchjobs.orchestrator.runner import LOG_FILE
from tests.live import free_port

HANDLERS = """
from orchjobs.orchestrator.custom import CustomJobOutcome


def reboot(fields, context):
    return CustomJobOutcome(message="Rebooted " + fields["Host"])


class Handlers:
    @staticmethod
    def report(fields, context):
        return CustomJobOutcome()


def takes_one(fields):
    return CustomJobOutcome()


NOT_A_FUNCTION = 42
"""


@pytest.fixture(autouse=True)
def python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading puts the working directory on the Python path; each test gets the path back as it was."""
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture
def handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The name of a module of handlers in the working directory, as a user's own handlers would be."""
    module = f"handlers_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(HANDLERS)
    (tmp_path / "broken_handlers.py").write_text("raise RuntimeError('no configuration file')\n")
    monkeypatch.chdir(tmp_path)
    yield module
    sys.modules.pop(module, None)
    sys.modules.pop("broken_handlers", None)


def test_a_name_alone_reports_the_type_and_echoes_its_fields() -> None:
    assert custom_job_type("RebootServer") == CustomJobType("RebootServer", echo_fields)
    assert custom_job_type(" Custom.RebootServer ") == CustomJobType("RebootServer", echo_fields)


def test_a_handler_is_imported_from_the_working_directory_or_an_installed_module(handlers: str) -> None:
    reboot = custom_job_type(f"RebootServer={handlers}:reboot")
    report = custom_job_type(f"Report = {handlers}:Handlers.report")
    example = custom_job_type("DiskUsage=orchjobs.orchestrator.examples:disk_usage")

    assert (reboot.name, reboot.handler.__name__) == ("RebootServer", "reboot")
    assert reboot.handler({"Host": "web-01"}, None).message == "Rebooted web-01"  # type: ignore[arg-type]
    assert (report.name, report.handler.__qualname__) == ("Report", "Handlers.report")
    assert example == CustomJobType("DiskUsage", disk_usage)


def test_the_types_are_reported_in_the_order_given() -> None:
    registry = custom_job_types(["Report", "DiskUsage=orchjobs.orchestrator.examples:disk_usage", "report"])
    assert registry.capabilities == ["Custom.Report", "Custom.DiskUsage"]
    assert registry.handler("diskusage") is disk_usage


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("", "'': A custom job type needs a name."),
        ("=orchjobs.orchestrator.examples:disk_usage", "A custom job type needs a name."),
        ("Custom.", "A custom job type needs a name."),
        ("Reboot Server", "holds a space or one of . , = :"),
        ("CertStores.PEM.Inventory", "holds a space or one of . , = :"),
        ("FetchLogs", "FetchLogs is built in"),
        ("Reboot=", "'Reboot=' names no handler after '='; write NAME=module:function."),
        ("Reboot={module}", "The handler '{module}' is not of the form module:function."),
        ("Reboot=:reboot", "The handler ':reboot' is not of the form module:function."),
        ("Reboot=no_such_module_anywhere:reboot", "ModuleNotFoundError: No module named 'no_such_module_anywhere'"),
        ("Reboot=broken_handlers:reboot", "cannot be imported: RuntimeError: no configuration file"),
        ("Reboot={module}:restart", "The handler '{module}:restart' does not exist: {module} has no restart."),
        ("Reboot={module}:Handlers.missing", "does not exist: {module} has no Handlers.missing."),
        ("Reboot={module}:NOT_A_FUNCTION", "The handler '{module}:NOT_A_FUNCTION' is a int, not a function."),
        ("Reboot={module}:takes_one", "cannot be called as handler(fields, context): its signature is (fields)."),
    ],
)
def test_a_value_the_orchestrator_cannot_start_with_is_refused(handlers: str, option: str, message: str) -> None:
    with pytest.raises(CapabilityOptionError) as refused:
        custom_job_type(option.format(module=handlers))
    assert message.format(module=handlers) in str(refused.value)


def test_one_type_with_two_handlers_is_refused(handlers: str) -> None:
    with pytest.raises(CapabilityOptionError, match="The custom job type reboot is given twice, with different"):
        custom_job_types([f"Reboot={handlers}:reboot", "reboot"])


# -- the command ------------------------------------------------------------------------------------------------


def orchestrator_command(store_dir: Path, *capabilities: str) -> list[str]:
    url = f"http://127.0.0.1:{free_port()}/KeyfactorAgents"  # nothing listens there
    options = [item for capability in capabilities for item in ("--capability", capability)]
    return ["orchestrator", "--url", url, "--name", "web-01", "--store-dir", str(store_dir), "--once", *options]


@pytest.mark.parametrize(
    ("capability", "message"),
    [
        ("Reboot=no_such_module_anywhere:reboot", "No module named 'no_such_module_anywhere'"),
        ("Reboot Server", "holds a space"),
        ("=x:y", "A custom job type needs a name."),
    ],
)
def test_the_command_refuses_a_bad_capability_before_it_registers(
    tmp_path: Path, capability: str, message: str
) -> None:
    store_dir = tmp_path / "stores"

    result = CliRunner().invoke(app, orchestrator_command(store_dir, "Report", capability))

    assert result.exit_code == 2, result.output
    said = " ".join(result.output.replace("│", " ").split())  # unwrapped from the error box
    assert "Invalid value for --capability: " in said
    assert message in said
    assert not store_dir.exists()  # it never started


def test_the_command_starts_with_its_custom_job_types_and_says_which_handler_runs_each(tmp_path: Path) -> None:
    store_dir = tmp_path / "stores"
    command = orchestrator_command(store_dir, "Report", "DiskUsage=orchjobs.orchestrator.examples:disk_usage")

    result = CliRunner().invoke(app, command)

    assert result.exit_code == 1  # --once, and no server to register with
    log = (store_dir / LOG_FILE).read_text()
    assert "Custom job type Report (Custom.Report) runs orchjobs.orchestrator.custom:echo_fields" in log
    assert "Custom job type DiskUsage (Custom.DiskUsage) runs orchjobs.orchestrator.examples:disk_usage" in log
