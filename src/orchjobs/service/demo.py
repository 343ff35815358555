"""The demo that `make run` shows a new user: one approved orchestrator with a PEM store and jobs that come due every
minute, for the reference orchestrator (`orchjobs orchestrator`) to pick up and run, so that new runs arrive in the
console while one watches: an inventory and a disk check that succeed, and a disk check of a path that is not there,
which fails every other minute (a failure to acknowledge, and a failure group)."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, insert, select

from orchjobs.domain.capabilities import FETCH_LOGS, store_capability, with_fetch_logs_names
from orchjobs.domain.job_types import FieldRequest
from orchjobs.domain.jobs import AgentPlatform, AgentStatus
from orchjobs.domain.schedules import schedule_type
from orchjobs.domain.store_types import PEM, checked_properties
from orchjobs.service.custom_jobs import CustomJobRequest, schedule_custom_job
from orchjobs.service.job_types import JobTypeRequest, create_job_type
from orchjobs.store.engine import write_transaction
from orchjobs.store.tables import agent, agent_capability, certificate_store, job_type, scheduled_job

DEMO_STORE_FILE = "web-app.pem"
EVERY_MINUTE = {"Interval": {"Minutes": 1}}
EVERY_OTHER_MINUTE = {"Interval": {"Minutes": 2}}
# The custom job the demo orchestrator runs with orchjobs.orchestrator.examples:disk_usage (scripts/run.sh).
DISK_USAGE = JobTypeRequest(
    name="DiskUsage",
    description="How full the file system holding a path is (orchjobs.orchestrator.examples:disk_usage).",
    fields=[
        FieldRequest(name="Path", type="String", required=True),
        FieldRequest(name="WarnAbovePercent", type="Int", default_value=90),
    ],
)


@dataclass(frozen=True)
class DemoOrchestrator:
    name: str
    agent_id: uuid.UUID
    store_dir: Path


def prepare_demo_orchestrator(
    engine: Engine, *, name: str, username: str, store_dir: Path, now: datetime
) -> DemoOrchestrator:
    """An approved orchestrator `name` owned by `username`, a PEM store holding two certificates in
    `store_dir`, and an inventory job due every minute. Its first registration finds all of it."""
    store_dir.mkdir(parents=True, exist_ok=True)
    store_file = store_dir / DEMO_STORE_FILE
    if not store_file.exists():
        store_file.write_text("".join(_self_signed_pem(f"{host}.demo.example.com") for host in ("www", "api")))
    inventory = store_capability("PEM", "Inventory")
    agent_id, store_id = uuid.uuid4(), uuid.uuid4()
    with write_transaction(engine) as conn:
        existing = conn.execute(select(agent.c.id).where(agent.c.client_machine == name)).scalar()
        if existing is not None:
            return DemoOrchestrator(name=name, agent_id=existing, store_dir=store_dir)
        conn.execute(
            insert(agent).values(
                id=agent_id,
                client_machine=name,
                username=username,
                platform=int(AgentPlatform.DOTNET),
                version="1.0.0.0",
                status=int(AgentStatus.APPROVED),
                last_seen=now,
            )
        )
        capabilities = with_fetch_logs_names(
            [inventory.name, store_capability("PEM", "Management").name, FETCH_LOGS, f"Custom.{DISK_USAGE.name}"]
        )
        conn.execute(insert(agent_capability), [{"agent_id": agent_id, "capability": c} for c in capabilities])
        conn.execute(
            insert(certificate_store).values(
                id=store_id,
                agent_id=agent_id,
                store_type_id=PEM.id,
                client_machine=name,
                store_path=DEMO_STORE_FILE,
                display_name="Web app",
                properties=json.dumps(checked_properties(PEM.properties, {})),
            )
        )
        inventory_type = conn.execute(select(job_type.c.id).where(job_type.c.name == "Inventory")).scalar_one()
        conn.execute(
            insert(scheduled_job).values(
                id=uuid.uuid4(),
                agent_id=agent_id,
                job_type_id=inventory_type,
                certificate_store_id=store_id,
                schedule=json.dumps(EVERY_MINUTE),
                schedule_type=schedule_type(EVERY_MINUTE),
                target_path=DEMO_STORE_FILE,
                requested_at=now,
                next_run_at=now,
                capability=inventory.name,
            )
        )
    _schedule_disk_checks(engine, agent_id=agent_id, actor=username, now=now)
    return DemoOrchestrator(name=name, agent_id=agent_id, store_dir=store_dir)


def _schedule_disk_checks(engine: Engine, *, agent_id: uuid.UUID, actor: str, now: datetime) -> None:
    """DiskUsage every minute of the store directory (a success), and every other minute of a directory that does not
    exist (a failure, the same message each time: one failure group)."""
    with engine.connect() as conn:
        exists = conn.execute(select(job_type.c.id).where(job_type.c.name == DISK_USAGE.name)).first() is not None
    if not exists:
        create_job_type(engine, DISK_USAGE)
    for path, schedule in ((".", EVERY_MINUTE), ("backups", EVERY_OTHER_MINUTE)):
        request = CustomJobRequest(job_type_name=DISK_USAGE.name, schedule=schedule, job_fields={"Path": path})
        schedule_custom_job(engine, agent_id=agent_id, request=request, actor=actor, now=now)


def _self_signed_pem(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.now().astimezone() - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
