"""The HTTP floor for ScheduledJobs: a bare Starlette endpoint that runs the raw page SELECT through the bare driver
(bench/bare_app.py's approach, for the scheduled_job page).

Served by uvicorn exactly like orchjobs (`uvicorn bare_scheduled_app:app`), with BENCH_DATABASE_URL set.
No auth, no query language, no SQLAlchemy: what is left is HTTP, the driver and JSON.
"""

from bare_app import page_app

NAMES = ["Id", "ClientMachine", "Target", "Schedule", "Requested", "JobType", "AgentId", "NextRun"]
PAGE_SQL = (
    "SELECT s.id, a.client_machine, s.target_path, s.schedule, s.requested_at, t.name, s.agent_id, s.next_run_at "
    "FROM scheduled_job s JOIN agent a ON a.id = s.agent_id JOIN job_type t ON t.id = s.job_type_id "
    "WHERE s.next_run_at IS NOT NULL OR s.running_history_id IS NOT NULL "
    "ORDER BY s.requested_at DESC, s.id DESC LIMIT 50 OFFSET {offset}"
)
app = page_app(PAGE_SQL, NAMES)
