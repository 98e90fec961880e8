"""A month's billing run: compute every subject's charges, write the drafts, and
propose the differences of invoices that are no longer drafts.

Everything is read from the replica first (billing.services.compute); the portal is
then written in one transaction (billing.services.drafts for the drafts), so a replica
that fails half way leaves nothing behind. A finalised invoice is never touched: when
its recomputed charges differ, an open RecomputeProposal per shop says by how much and
why (rule 9).
"""

import contextlib
import gc
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from instances.models import Instance
from instances.replicas import replica_errors
from portal.audit import audit_record
from portal.periods import Month

from .. import selectors
from ..models import (
    BillingRun,
    Invoice,
    InvoiceLine,
    RecomputeProposal,
)
from . import review
from .compute import billing_compute, recompute_notes
from .drafts import drafts_write

logger = logging.getLogger(__name__)


def _proposals_write(*, run, finalised: list, notes: dict) -> int:
    """Upsert an open proposal per differing shop; drop those that no longer differ."""
    currency = run.instance.currency
    keep = []
    for invoice, rows in finalised:
        for difference in review.shop_differences(invoice=invoice, rows=rows):
            reason = review.difference_reason(
                difference,
                notes.get((invoice.pk, difference.enterprise_id), []),
                currency,
            )
            proposal, _ = RecomputeProposal.objects.update_or_create(
                invoice=invoice,
                enterprise_id=difference.enterprise_id,
                status=RecomputeProposal.Status.PROPOSED,
                defaults={
                    "run": run,
                    "enterprise_name": difference.name,
                    "invoiced_amount": difference.invoiced,
                    "recomputed_amount": difference.recomputed,
                    "difference": difference.difference,
                    "reason": reason,
                },
            )
            keep.append(proposal.pk)
    stale = RecomputeProposal.objects.filter(
        invoice__run=run, status=RecomputeProposal.Status.PROPOSED
    ).exclude(pk__in=keep)
    stale.delete()
    return len(keep)


@dataclass
class RunOutcome:
    invoices: int
    changed: list[int]
    proposals: int
    shops: int


def _run_write(*, run: BillingRun, month: Month, subjects, notes) -> RunOutcome:
    live = {
        invoice.subject_key: invoice
        for invoice in Invoice.objects.select_for_update()
        .filter(run=run, kind=Invoice.Kind.INVOICE)
        .exclude(status__in=selectors.DEAD_STATUSES)
    }
    # Only finalised invoices are compared line by line.
    prefetch_related_objects(
        [i for i in live.values() if i.status != Invoice.Status.DRAFT],
        "lines__orders",
        "proposals",
    )
    drafts, finalised = [], []
    for subject in subjects:
        invoice = live.pop(subject.key, None)
        if invoice is not None and invoice.status != Invoice.Status.DRAFT:
            finalised.append((invoice, subject.lines))
        else:
            drafts.append((invoice, subject))
    changed = drafts_write(run=run, month=month, subjects=subjects, drafts=drafts)
    gone = [i for i in live.values() if i.status == Invoice.Status.DRAFT]
    InvoiceLine.objects.filter(invoice__in=gone).delete()
    Invoice.objects.filter(pk__in=[i.pk for i in gone]).delete()
    finalised.extend((i, []) for i in live.values() if i.status != Invoice.Status.DRAFT)
    proposals = _proposals_write(run=run, finalised=finalised, notes=notes)
    return RunOutcome(
        invoices=len(drafts) + len(finalised),
        changed=changed,
        proposals=proposals,
        shops=len({row["enterprise_id"] for s in subjects for row in s.lines}),
    )


@contextlib.contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector for the length of a run.

    A large run allocates hundreds of thousands of short-lived, acyclic objects (line
    dicts, Decimals, explanations), which reference counting frees; each 700 of them
    made the collector walk every tracked object, a sixth of the run's time. Cycles
    left are collected once it runs again. Resumed only by whoever paused it.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def billing_run_execute(*, instance: Instance, month: Month, actor=None) -> BillingRun:
    """Compute `month`'s drafts for `instance` and write them; safe to run again.

    Everything is read from the replica first; the portal is then written in one
    transaction, so a replica that fails half way leaves nothing behind. Drafts are
    updated in place (one per instance, subject and month, enforced by a constraint);
    invoices that are no longer drafts are never touched: their differences become
    recompute proposals (rule 9).
    """
    with _collector_paused():
        return _billing_run(instance=instance, month=month, actor=actor)


def _billing_run(*, instance: Instance, month: Month, actor) -> BillingRun:
    # The selectors already translate their errors; this also covers any replica
    # access added later, so a failing replica is always a ReplicaError here.
    with replica_errors(instance):
        subjects = billing_compute(instance=instance, month=month)
        notes = recompute_notes(instance=instance, month=month, subjects=subjects)
    try:
        with transaction.atomic():
            run = _run_locked(instance=instance, month=month, actor=actor)
            outcome = _run_write(run=run, month=month, subjects=subjects, notes=notes)
            _run_done(run, outcome, actor)
    except IntegrityError:
        # Another worker created the same run at the same moment; its result stands.
        logger.info(
            "Billing run already being written elsewhere",
            extra={"instance": instance.slug, "month": str(month)},
        )
        return BillingRun.objects.get(instance=instance, month=month.first_day)
    logger.info(
        "Billing run computed",
        extra={
            "instance": instance.slug,
            "month": str(month),
            "run": run.pk,
            "invoices": outcome.invoices,
            "changed": outcome.changed,
            "proposals": outcome.proposals,
        },
    )
    return run


def _run_done(run: BillingRun, outcome: RunOutcome, actor) -> None:
    run.status = BillingRun.Status.SUCCEEDED
    run.computed_at = timezone.now()
    run.computations += 1
    run.shops_billed = outcome.shops
    run.save(
        update_fields=[
            "status",
            "computed_at",
            "computations",
            "shops_billed",
            "updated_at",
        ]
    )
    audit_record(
        action="billing_run.computed",
        target=run,
        actor=actor,
        instance=run.instance,
        details={
            "invoices": outcome.invoices,
            "changed": outcome.changed,
            "proposals": outcome.proposals,
        },
    )


def _run_locked(*, instance: Instance, month: Month, actor) -> BillingRun:
    run, _ = BillingRun.objects.get_or_create(
        instance=instance,
        month=month.first_day,
        defaults={"status": BillingRun.Status.RUNNING, "started_by": actor},
    )
    return BillingRun.objects.select_for_update().get(pk=run.pk)
