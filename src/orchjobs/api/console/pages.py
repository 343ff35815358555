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
    ConsolePage(
        "/failure-groups",
        "Failure groups",
        "failure_groups.html",
        ("GET", f"{paths.ORCHESTRATOR_JOBS}/JobHistory/FailureGroups"),
    ),
    ConsolePage("/orchestrators", "Orchestrators", "orchestrators.html", ("GET", f"{paths.ORCHESTRATORS}")),
    ConsolePage(
        "/scheduled-jobs", "Scheduled jobs", "scheduled_jobs.html", ("GET", f"{paths.ORCHESTRATOR_JOBS}/ScheduledJobs")
    ),
    ConsolePage("/stores", "Certificate stores", "stores.html", ("GET", paths.CERTIFICATE_STORES)),
    ConsolePage("/settings", "Settings", "settings.html", ("GET", paths.APP_SETTINGS)),
    ConsolePage("/security", "Users and roles", "security.html", ("GET", f"{paths.SECURITY}/Identities")),
    ConsolePage("/audit", "Audit log", "audit.html", ("GET", paths.AUDIT)),
)
