"""The console's pages, in the order the navigation shows them. A page is shown, in the navigation and at its path,
to a user who may call the API route it reads first; what the page then offers is what the user's other permissions
allow (each control asks Security/My), so the page can do nothing the API would refuse."""

from dataclasses import dataclass

from orchjobs.api import paths


@dataclass(frozen=True)
class ConsolePage:
    path: str
    title: str
    template: str
    # The API route (method, path) whose permission decides whether the user sees this page at all.
    reads: tuple[str, str]


PAGES: tuple[ConsolePage, ...] = (
    ConsolePage("/", "Job history", "history.html", ("GET", f"{paths.ORCHESTRATOR_JOBS}/JobHistory")),
    ConsolePage("/orchestrators", "Orchestrators", "orchestrators.html", ("GET", f"{paths.ORCHESTRATORS}")),
    ConsolePage(
        "/scheduled-jobs", "Scheduled jobs", "scheduled_jobs.html", ("GET", f"{paths.ORCHESTRATOR_JOBS}/ScheduledJobs")
    ),
)
