"""Celery beat's periodic billing work: the monthly tick, fanned out per instance."""

import logging

from celery import shared_task
from django.utils import timezone

from ..services.schedule import monthly_runs_due
from .runs import billing_run_task

logger = logging.getLogger(__name__)

# A queued run not started within this time is dropped: a later tick queues it again
# if the month still has no run, so a backlog never piles up copies.
RUN_EXPIRES_SECONDS = 60 * 60


@shared_task(name="billing.monthly_tick", acks_late=True, time_limit=120)
def monthly_tick_task() -> int:
    """Queue billing.run_month for every instance whose monthly run is due."""
    due = monthly_runs_due(as_of=timezone.now())
    for run in due:
        billing_run_task.apply_async(
            (run.instance.pk, str(run.month)), expires=RUN_EXPIRES_SECONDS
        )
        logger.info(
            "Monthly billing run queued",
            extra={
                "instance": run.instance.slug,
                "month": str(run.month),
                "due_at": run.moment.isoformat(),
            },
        )
    return len(due)
