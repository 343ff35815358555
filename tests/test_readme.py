"""The README's curl session works as written, against a real server holding seeded data."""

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from orchjobs.service.seeding import seed_database
from orchjobs.store.tables import job_history
from tests.live import ADMIN

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
    assert run.stdout.count("204\n") == 2, run.stdout
    assert '"Count":' in run.stdout and '"ErrorCode"' not in run.stdout
    assert acknowledged_by_admin(engine) >= before + 2


def acknowledged_by_admin(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(job_history).where(job_history.c.acknowledged_by == ADMIN[0])
        return int(conn.execute(query).scalar_one())
