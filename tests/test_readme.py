"""The README's curl session works as written, against a real server holding seeded data."""

import base64
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from orchjobs.service.seeding import seed_database
from orchjobs.store.tables import job_history
from tests.live import ADMIN, free_port, server_environment

README = Path(__file__).resolve().parents[1] / "README.md"


def curl_session() -> str:
    text = README.read_text()
    section = text[text.index("## A session with curl") :]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]


def test_the_readme_curl_session_works(engine: Engine, live_server: str) -> None:
    seed_database(engine, agents=5, history=400, seed=3, now=datetime.now(UTC))
    script = (
        curl_session()
        .replace("http://127.0.0.1:8080", live_server)
        .replace("admin:orchjobs-admin", f"{ADMIN[0]}:{ADMIN[1]}")
    )

    before = acknowledged_by_admin(engine)
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=60)

    assert run.returncode == 0, run.stderr
    assert run.stdout.count("204\n") == 3, run.stdout
    assert '"Count":' in run.stdout and '"ErrorCode"' not in run.stdout
    assert acknowledged_by_admin(engine) >= before + 2


def acknowledged_by_admin(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(job_history).where(job_history.c.acknowledged_by == ADMIN[0])
        return int(conn.execute(query).scalar_one())


def code_block(heading: str, language: str, index: int = 0) -> str:
    """The `index`-th ```language block under the README's `heading`."""
    text = README.read_text()
    section = text[text.index(heading) :]
    section = section[: section.find("\n## ", 1)] if "\n## " in section[1:] else section
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)[index]


def for_this_server(script: str, live_server: str) -> str:
    return (
        script.replace("http://127.0.0.1:8080", live_server)
        .replace("admin:orchjobs-admin", f"{ADMIN[0]}:{ADMIN[1]}")
        .replace("--password orchjobs-admin", f"--password {ADMIN[1]}")
        .replace(".venv/bin/orchjobs", str(Path(sys.executable).parent / "orchjobs"))
    )


def test_the_readme_custom_job_flow_works(live_server: str, tmp_path: Path) -> None:
    script = for_this_server(code_block("## Custom jobs", "sh"), live_server)

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout.strip().splitlines()[-1])
    facts = json.loads(data["Data"])
    assert facts["Path"] == str(tmp_path / "disk-01") and 0 <= facts["UsedPercent"] <= 100
    assert '"JobTypeName":"DiskUsage"' in run.stdout and "204\n" in run.stdout


def test_the_readme_sdk_snippet_works(live_server: str, tmp_path: Path, clients_python: str) -> None:
    orchestrator = for_this_server(code_block("## Custom jobs", "sh").split("\n\n")[0], live_server)
    register = f"{orchestrator}\n$ORCH --once"
    assert subprocess.run(["bash", "-c", register], cwd=tmp_path, capture_output=True, timeout=60).returncode == 0
    agent_id = approve_all(live_server)
    token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    run_it = f"subprocess.run(['bash', '-c', {register!r}], cwd={str(tmp_path)!r}, check=True)"
    snippet = (
        code_block("## Custom jobs", "python")
        .replace("http://127.0.0.1:8080", live_server)
        .replace("YWRtaW46b3JjaGpvYnMtYWRtaW4=", token)
        .replace("# … once the orchestrator has run it:", run_it)
    )

    run = subprocess.run(
        [clients_python, "-c", f"import subprocess\nAGENT_ID = {agent_id!r}\n{snippet}"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["Path"] == str(tmp_path / "disk-01")


def approve_all(live_server: str) -> str:
    """Approve the one orchestrator there is; its id."""
    auth, headers = ADMIN, {"x-keyfactor-requested-with": "APIClient"}
    (agent,) = httpx.get(f"{live_server}/KeyfactorAPI/Agents", auth=auth, headers=headers).json()
    response = httpx.post(
        f"{live_server}/KeyfactorAPI/Agents/Approve", json=[agent["AgentId"]], auth=auth, headers=headers
    )
    assert response.status_code == 204
    return str(agent["AgentId"])


def test_the_readme_store_story_works(live_server: str, tmp_path: Path) -> None:
    script = for_this_server(code_block("## Certificate stores", "sh"), live_server)

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=180
    )

    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[-1] == "True" and lines[-2] == "204"  # the discovered store, approved
    assert "Inventory 3 2" in lines and "Management 3 2" in lines
    assert (tmp_path / "web-03" / "app.pem").read_text().count("BEGIN CERTIFICATE") == 1


def test_the_readme_block_that_runs_another_orchestrator_works_when_pasted(
    database_url: str, live_server: str, tmp_path: Path
) -> None:
    script = for_this_server(code_block("## Watch an orchestrator run jobs", "sh", 1), live_server)
    checkout, temporary = tmp_path / "checkout", tmp_path / "tmp"
    checkout.mkdir(), temporary.mkdir()
    env = server_environment(database_url, tmp_path) | {"TMPDIR": str(temporary)}

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=checkout, env=env, capture_output=True, text=True, timeout=120
    )

    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "Added user orch-web-02 with the roles Orchestrator."
    assert '"Status":1' in lines[1] and lines[2:4] == ["204", "204"], lines
    assert lines[4] == "Its log arrives at its next check-in, within 10 seconds."
    assert any("Registered as web-02" in line for line in lines[5:]), lines
    assert list(checkout.iterdir()) == [] and list(temporary.iterdir()) == []  # nothing left behind


def test_the_readme_tls_block_serves_with_the_certificate_it_issues(database_url: str, tmp_path: Path) -> None:
    port = str(free_port())
    script = for_this_server(code_block("### TLS and client certificates", "sh"), "").replace("8443", port)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = server_environment(database_url, tmp_path) | {"TMPDIR": str(temporary)}

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]), run.stdout  # the endpoints, over TLS trusted through the CA
    assert list(temporary.iterdir()) == []
