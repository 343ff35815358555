"""One orchestrator's conversation with the server: check in, run the jobs it hands out, report each outcome.

Check-in is `Session/Register` the first time (and whenever the session is gone), `Session/Heartbeat` after
that; both hand out the jobs due now. A job is run as the C agent runs it: fetch its configuration, do the work,
post the completion. Network and protocol failures are logged and never end the orchestrator: the server
hands an unfinished job out again.
"""

import logging
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from orchjobs.domain.capabilities import capability_guid
from orchjobs.orchestrator import jobs
from orchjobs.orchestrator.client import UPLOAD_REFUSED, HandedOutJob, ProtocolClient, ProtocolError, Registration
from orchjobs.orchestrator.custom import DEFAULT_MAX_DATA_BYTES, CustomJobTypes
from orchjobs.orchestrator.identity import STATE_FILE, load_agent_id, save_agent_id
from orchjobs.orchestrator.payload import bool_field, int_field
from orchjobs.orchestrator.pem_store import PemStore

logger = logging.getLogger("orchjobs.orchestrator")

# The C agent's order: Management adds first (Priority 3), then other Management, Inventory, FetchLogs.
_RANKS = {"management": 1, "inventory": 2, "fetchlogs": 3}
_MANAGEMENT_ADD_PRIORITY = 3


class Orchestrator:
    def __init__(
        self,
        client: ProtocolClient,
        *,
        name: str,
        directory: Path,
        capabilities: list[str],
        log_path: Path,
        custom_jobs: CustomJobTypes | None = None,
        max_data_bytes: int = DEFAULT_MAX_DATA_BYTES,
    ) -> None:
        self.client = client
        self.name = name
        self.directory = directory
        self.capabilities = capabilities
        self.log_path = log_path
        self.custom_jobs = custom_jobs or CustomJobTypes()
        self.max_data_bytes = max_data_bytes
        self.store = PemStore(directory, own_files=[log_path, directory / STATE_FILE])
        self.heartbeat_minutes = 5
        self._by_guid = {capability_guid(capability): capability for capability in capabilities}

    # -- check-in ------------------------------------------------------------------------------------------------

    def register(self) -> list[HandedOutJob] | None:
        """A new session; the jobs it handed out, or None when the server could not be reached or refused."""
        registration = Registration(self.name, self.capabilities, load_agent_id(self.directory, self.name))
        try:
            session = self.client.register(registration)
        except (ProtocolError, httpx.HTTPError) as exc:
            logger.error("Registration as %s failed: %s", self.name, _describe(exc))
            return None
        if session.agent_id and session.agent_id != registration.agent_id:
            save_agent_id(self.directory, self.name, session.agent_id)
        self.heartbeat_minutes = session.heartbeat_minutes or self.heartbeat_minutes
        logger.info(
            "Registered as %s (AgentId %s): %d job(s) handed out%s",
            self.name,
            session.agent_id,
            len(session.jobs),
            f"; the server says: {session.warning}" if session.warning else "",
        )
        return session.jobs

    def heartbeat(self) -> list[HandedOutJob] | None:
        """The jobs due now, registering again when the session is gone; None on failure."""
        if not self.client.token:
            return self.register()
        try:
            beat = self.client.heartbeat(self.name)
        except (ProtocolError, httpx.HTTPError) as exc:
            logger.error("Heartbeat failed: %s", _describe(exc))
            if isinstance(exc, ProtocolError) and exc.session_expired:
                return self.register()
            return None
        if not beat.session_valid:
            logger.info("The server ended the session; registering again")
            return self.register()
        self.heartbeat_minutes = beat.heartbeat_minutes or self.heartbeat_minutes
        if beat.jobs:
            logger.info("Heartbeat: %d job(s) handed out", len(beat.jobs))
        return beat.jobs

    # -- jobs ------------------------------------------------------------------------------------------------------

    def run_jobs(self, handed_out: Iterable[HandedOutJob], *, stopping: threading.Event | None = None) -> None:
        """Run jobs in the C agent's order. When the session ends under them, register again and go on with the
        rest (the server knows them by JobId and orchestrator) plus whatever the new session hands out."""
        queue = sorted(handed_out, key=self._rank)
        seen = {job.job_id for job in queue}
        while queue:
            if stopping is not None and stopping.is_set():
                logger.info("Stopping: %d job(s) left for the server to hand out again", len(queue))
                return
            self.run_job(queue.pop(0))
            if self.client.token:
                continue
            fresh = self.register()
            if fresh is None:
                logger.info("%d job(s) left for the server to hand out again", len(queue))
                return
            queue = sorted([*queue, *(job for job in fresh if job.job_id not in seen)], key=self._rank)
            seen.update(job.job_id for job in fresh)

    def run_job(self, job: HandedOutJob) -> None:
        """Configuration → work → completion; failures are logged, never raised."""
        capability = self.capability_of(job)
        try:
            config = self.client.configuration(job)
        except (ProtocolError, httpx.HTTPError) as exc:
            # Like the C agent: without a configuration the job is skipped and the server times it out.
            self._after_failure(exc, f"Configuration of job {job.job_id} failed")
            return
        if bool_field(config, "JobCancelled"):
            logger.info("Job %s was cancelled by the server", job.job_id)
            return
        outcome = self._execute(job, capability, config)
        self._complete(job, int_field(config, "AuditId"), outcome)

    def capability_of(self, job: HandedOutJob) -> str:
        """The capability a JobTypeId stands for, or the GUID itself when this orchestrator never reported it."""
        try:
            return self._by_guid.get(uuid.UUID(job.job_type_id), job.job_type_id)
        except ValueError:
            return job.job_type_id

    def _execute(self, job: HandedOutJob, capability: str, config: dict[str, Any]) -> jobs.JobOutcome:
        logger.info("Running job %s (%s)", job.job_id, capability)
        context = jobs.JobContext(
            capability=capability,
            job_id=job.job_id,
            config=config,
            store=self.store,
            log_path=self.log_path,
            upload_inventory=lambda endpoint, items: self.client.upload_inventory(endpoint, job.job_id, items),
            upload_discovery=lambda endpoint, paths: self.client.upload_discovery(endpoint, job.job_id, paths),
            custom_jobs=self.custom_jobs,
            max_data_bytes=self.max_data_bytes,
        )
        outcome = jobs.execute(context)
        logger.info("Job %s finished with status %d%s", job.job_id, outcome.status, _suffix(outcome.message))
        return outcome

    def _complete(self, job: HandedOutJob, audit_id: int, outcome: jobs.JobOutcome) -> None:
        try:
            self.client.complete(
                job,
                audit_id=audit_id,
                status=outcome.status,
                message=_sendable(outcome.message),
                Log=outcome.log,
                Data=outcome.data,
            )
        except (ProtocolError, httpx.HTTPError) as exc:
            if not _upload_refused(exc, outcome):
                self._after_failure(exc, f"Completion of job {job.job_id} was not accepted")
                return
            # The server's limit is below ours (--max-data-bytes). Unanswered, the run would time out and run again
            # to the same end, so the refusal itself becomes the run's failure.
            logger.error("The server refused the result of job %s: %s", job.job_id, _describe(exc))
            self._complete(job, audit_id, jobs.JobOutcome(jobs.ERROR, f"The server refused the result data: {exc}"))

    def _after_failure(self, exc: Exception, what: str) -> None:
        logger.error("%s: %s", what, _describe(exc))
        if isinstance(exc, ProtocolError) and exc.session_expired:
            self.client.token = ""  # the next check-in registers again

    def _rank(self, job: HandedOutJob) -> int:
        kind = self.capability_of(job).rsplit(".", 1)[-1].lower()
        if kind == "management" and job.priority == _MANAGEMENT_ADD_PRIORITY:
            return 0
        return _RANKS.get(kind, len(_RANKS) + 1)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ProtocolError) and exc.code_string:
        return f"{exc.message} ({exc.code_string})"
    return str(exc) or type(exc).__name__


def _upload_refused(exc: Exception, outcome: jobs.JobOutcome) -> bool:
    """Whether the server refused the Log or Data the completion carried (and would take it without)."""
    carried = outcome.log is not None or outcome.data is not None
    return carried and isinstance(exc, ProtocolError) and exc.code_string.upper() == UPLOAD_REFUSED


def _sendable(message: str) -> str:
    """The message as UTF-8 can carry it: a lone surrogate (a file name that is not UTF-8) would fail the post."""
    return message.encode("utf-8", "replace").decode("utf-8")


def _suffix(message: str) -> str:
    return f": {message}" if message else ""
