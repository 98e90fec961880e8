"""Billing writes: computing a month's drafts and rendering their PDFs."""

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from instances.models import Instance
from instances.replicas import replica_errors
from portal.audit import audit_record
from portal.periods import Month, local_date

from .. import engine, selectors
from ..models import BillingRun, Invoice, InvoiceLine, PricingPlan

logger = logging.getLogger(__name__)


def plan_terms(plan: PricingPlan) -> engine.PlanTerms:
    return engine.PlanTerms(
        label=f"{plan.name} (plan of {plan.effective_from:%Y-%m-%d})",
        currency=plan.instance.currency,
        fixed_fee=plan.fixed_fee,
        turnover_rate=plan.turnover_rate,
        monthly_cap=plan.monthly_cap,
        minimum_billable_turnover=plan.minimum_billable_turnover,
        tax_rate=plan.tax_rate,
        prices_include_tax=plan.prices_include_tax,
    )


@dataclass
class SubjectDraft:
    key: str
    name: str
    email: str
    lines: list[dict]


def _billable_days(shop, *, trial_days: int, time_zone: str):
    """A shop's billable local days: its shop days from the end of its trial on."""
    if not trial_days or shop.became_shop_at is None:
        return shop.shop_days, None
    trial_ends_on = local_date(shop.became_shop_at, time_zone) + dt.timedelta(
        trial_days
    )
    days = [day for day in shop.shop_days if day >= trial_ends_on]
    return days, trial_ends_on - dt.timedelta(1)


def billing_compute(
    *, instance: Instance, month: Month, plan: PricingPlan
) -> list[SubjectDraft]:
    """Every subject's lines for `month`, read from the replica (no portal writes)."""
    shops = [
        shop
        for shop in selectors.shop_records(instance=instance, month=month)
        if shop.category in plan.applies_to
    ]
    days = {}
    trial_end = {}
    for shop in shops:
        days[shop.enterprise_id], trial_end[shop.enterprise_id] = _billable_days(
            shop, trial_days=plan.trial_days, time_zone=instance.time_zone
        )
    partial = {shop_id: d for shop_id, d in days.items() if len(d) < month.days}
    sales = selectors.shop_sales(
        instance=instance, month=month, billable_days=partial, basis=plan.turnover_basis
    )
    emails = selectors.owner_emails(
        instance=instance,
        owner_ids={s.owner_id for s in shops if not s.external_billing_id},
    )
    terms = plan_terms(plan)
    subjects: dict[str, SubjectDraft] = {}
    for shop in shops:
        shop_sales = sales.get(shop.enterprise_id) or selectors.ShopSales(
            engine.ZERO, 0, None
        )
        shop_month = engine.ShopMonth(
            enterprise_id=shop.enterprise_id,
            name=shop.name,
            category=shop.category,
            billable_days=len(days[shop.enterprise_id]),
            days_in_month=month.days,
            turnover=shop_sales.turnover,
            order_count=shop_sales.order_count,
            trial_ends_on=trial_end[shop.enterprise_id],
        )
        subject = subjects.setdefault(shop.subject_key, _new_subject(shop, emails))
        subject.lines.extend(
            _line_row(shop_month, line)
            for line in engine.shop_lines(terms=terms, shop=shop_month)
        )
    return [
        s for s in subjects.values() if any(row["billable_days"] for row in s.lines)
    ]


def _new_subject(shop, emails) -> SubjectDraft:
    if shop.external_billing_id:
        return SubjectDraft(
            shop.subject_key, f"Billing ID {shop.external_billing_id}", "", []
        )
    email = emails.get(shop.owner_id) or ""
    return SubjectDraft(shop.subject_key, email or f"Owner #{shop.owner_id}", email, [])


def _line_row(shop: engine.ShopMonth, line: engine.LineDraft) -> dict:
    return {
        "enterprise_id": shop.enterprise_id,
        "enterprise_name": shop.name,
        "category": shop.category,
        "component": line.component,
        "description": line.description,
        "rule": line.rule,
        "turnover": shop.turnover,
        "order_count": shop.order_count,
        "billable_days": shop.billable_days,
        "days_in_month": shop.days_in_month,
        "amount": line.amount,
    }


def _content_hash(subject: SubjectDraft, totals: engine.InvoiceTotals) -> str:
    payload = {"name": subject.name, "lines": subject.lines, "totals": totals.__dict__}
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, default=str).encode()
    ).hexdigest()


def billing_run_execute(*, instance: Instance, month: Month, actor=None) -> BillingRun:
    """Compute `month`'s drafts for `instance` and write them; safe to run again.

    Everything is read from the replica first; the portal is then written in one
    transaction, so a replica that fails half way leaves nothing behind. Drafts are
    updated in place (one per instance, subject and month, enforced by a constraint);
    invoices that are no longer drafts are never touched.
    """
    plan = selectors.pricing_plan_for_month(instance=instance, month=month)
    # The selectors already translate their errors; this also covers any replica
    # access added later, so a failing replica is always a ReplicaError here.
    with replica_errors(instance):
        subjects = billing_compute(instance=instance, month=month, plan=plan)
    terms = plan_terms(plan)
    try:
        with transaction.atomic():
            run = _run_locked(instance=instance, month=month, actor=actor)
            changed = _write_drafts(run=run, plan=plan, terms=terms, subjects=subjects)
            run.status = BillingRun.Status.SUCCEEDED
            run.computed_at = timezone.now()
            run.computations += 1
            run.shops_billed = len(
                {row["enterprise_id"] for s in subjects for row in s.lines}
            )
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
                instance=instance,
                details={"invoices": len(subjects), "changed": changed},
            )
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
            "invoices": len(subjects),
            "changed": changed,
        },
    )
    return run


def _run_locked(*, instance: Instance, month: Month, actor) -> BillingRun:
    run, _ = BillingRun.objects.get_or_create(
        instance=instance,
        month=month.first_day,
        defaults={"status": BillingRun.Status.RUNNING, "started_by": actor},
    )
    return BillingRun.objects.select_for_update().get(pk=run.pk)


def _write_drafts(
    *, run: BillingRun, plan, terms, subjects: list[SubjectDraft]
) -> list[int]:
    """Upsert one draft per subject; delete drafts whose subject owes nothing now."""
    existing = {
        i.subject_key: i for i in Invoice.objects.select_for_update().filter(run=run)
    }
    changed = []
    for subject in subjects:
        totals = engine.invoice_totals(
            amounts=[row["amount"] for row in subject.lines], terms=terms
        )
        digest = _content_hash(subject, totals)
        invoice = existing.pop(subject.key, None)
        if invoice is not None and (
            invoice.status != Invoice.Status.DRAFT or invoice.content_hash == digest
        ):
            continue
        invoice = invoice or Invoice(
            run=run, instance=run.instance, month=run.month, subject_key=subject.key
        )
        invoice.subject_name = subject.name
        invoice.subject_email = subject.email
        invoice.plan = plan
        invoice.currency = terms.currency
        invoice.tax_rate = terms.tax_rate
        invoice.prices_include_tax = terms.prices_include_tax
        invoice.net, invoice.tax, invoice.gross = totals.net, totals.tax, totals.gross
        invoice.content_hash = digest
        invoice.pdf_status = Invoice.PdfStatus.PENDING
        invoice.save()
        invoice.lines.all().delete()
        InvoiceLine.objects.bulk_create(
            InvoiceLine(invoice=invoice, position=n, **row)
            for n, row in enumerate(subject.lines, 1)
        )
        changed.append(invoice.pk)
    stale = [i.pk for i in existing.values() if i.status == Invoice.Status.DRAFT]
    InvoiceLine.objects.filter(invoice_id__in=stale).delete()
    Invoice.objects.filter(pk__in=stale).delete()
    return changed
