"""Scheduled jobs: listed through `service.listing` as the resource `SCHEDULED_JOBS`."""

from orchjobs.store.scheduled_jobs import SCHEDULED_JOBS

__all__ = ["SCHEDULED_JOBS"]
