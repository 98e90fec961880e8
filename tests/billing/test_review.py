"""Review of a month's drafts: flags against the previous month, dropped subjects,
recompute proposals for finalised invoices (rule 9) and correction lines. On
PostgreSQL replicas; every figure and sentence is worked out by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import (
    Invoice,
    InvoiceLineOrder,
    IssuerProfile,
    PlanTier,
    PricingPlan,
    RecomputeProposal,
)
from billing.selectors import line_orders, run_review
from billing.services import billing_run_execute
from portal.periods import Month

D = Decimal
APRIL, MAY, JUNE = Month(2026, 4), Month(2026, 5), Month(2026, 6)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def shop(writer, shop_id, *, created=None, sells="any"):
    writer.user(shop_id, f"o{shop_id}@example.com", at(2024, 1, 1))
    writer.enterprise(
        shop_id,
        owner_id=shop_id,
        sells=sells,
        created_at=created or at(2024, 1, 1),
    )


def orders(writer, shop_id, rows):
    """Complete orders as (id, completed_at, total)."""
    writer.insert_many(
        "spree_orders",
        [
            writer.order_row(
                order_id,
                distributor_id=shop_id,
                state="complete",
                completed_at=when,
                total=total,
            )
            for order_id, when, total in rows
        ],
    )


def plan(instance, **figures) -> PricingPlan:
    values = {"name": "Standard", "effective_from": dt.date(2026, 1, 1), **figures}
    return PricingPlan.objects.create(instance=instance, **values)


def flags(run, key="owner:1") -> list[str]:
    return run.invoices.get(subject_key=key).review_flags


@pytest.mark.django_db
def test_billing_run_execute_flags_tier_change_more_orders_and_cap(pg_replica):
    # given: April 300.00 from 2 orders (tier 0: 10.00); May 2,000.00 from 5 orders
    # (tier 1,000: 30.00 + 2 % = 70.00, capped at 50.00)
    w = pg_replica.writer
    shop(w, 1)
    orders(w, 1, [(1, at(2026, 4, 3, 9), "100.00"), (2, at(2026, 4, 4, 9), "200.00")])
    orders(w, 1, [(10 + n, at(2026, 5, 3 + n, 9), "400.00") for n in range(5)])
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    tiered = plan(instance, tier_measure="turnover", monthly_cap=D("50"), name="Tiered")
    PlanTier.objects.create(plan=tiered, lower_bound=D("0"), flat_fee=D("10"))
    PlanTier.objects.create(
        plan=tiered, lower_bound=D("1000"), flat_fee=D("30"), turnover_rate=D("0.02")
    )

    # when
    april = billing_run_execute(instance=instance, month=APRIL)
    may = billing_run_execute(instance=instance, month=MAY)

    # then
    assert flags(april) == ["New billing subject: no invoice for 2026-03."]
    assert may.invoices.get().gross == D("50.00")
    assert flags(may) == [
        "Gross 10.00 -> 50.00 GBP (+400 %) since 2026-04.",
        "Enterprise 1: more orders: 2 -> 5.",
        "Enterprise 1: tier change: 0 to under 1000 turnover -> 1000 and over "
        "turnover.",
        "Enterprise 1: turnover 300.00 -> 2000.00 GBP.",
        "Enterprise 1: cap reached.",
    ]
    assert list(run_review(instance=instance, run=may).flagged) == list(
        may.invoices.all()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (None, []),
        (
            "0.10",
            [
                "Gross 10.00 -> 12.00 GBP (+20 %) since 2026-04.",
                "Enterprise 1: more orders: 0 -> 1.",
                "Enterprise 1: turnover 0.00 -> 200.00 GBP.",
            ],
        ),
    ],
    ids=["default-25-percent", "issuer-10-percent"],
)
def test_billing_run_execute_flags_only_moves_over_the_threshold(
    pg_replica, threshold, expected
):
    # given: 10.00 in April, 10.00 + 1 % of 200.00 = 12.00 in May (+20 %)
    w = pg_replica.writer
    shop(w, 1)
    orders(w, 1, [(1, at(2026, 5, 3, 9), "200.00")])
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    plan(instance, fixed_fee=D("10"), turnover_rate=D("0.01"))
    if threshold:
        IssuerProfile.objects.create(
            instance=instance,
            legal_name="OFN UK CIC",
            review_change_threshold=D(threshold),
        )
    billing_run_execute(instance=instance, month=APRIL)

    # when
    may = billing_run_execute(instance=instance, month=MAY)

    # then
    assert flags(may) == expected


@pytest.mark.django_db
def test_billing_run_execute_flags_trial_end_new_shop_and_dropped_subject(
    pg_replica,
):
    # given: shop 2 became a shop on 20 April (15-day trial to 4 May); shop 3 on 8
    # May (00:30 BST); shop 4 stopped selling on 30 April
    w = pg_replica.writer
    shop(w, 2, created=at(2026, 4, 20, 10))
    shop(w, 3, created=at(2026, 5, 7, 23, 30))
    shop(w, 4, sells="none")
    w.version(1, enterprise_id=4, sells_before="any", created_at=at(2026, 4, 30, 12))
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    plan(instance, fixed_fee=D("31"), trial_days=15)
    april = billing_run_execute(instance=instance, month=APRIL)

    # when
    may = billing_run_execute(instance=instance, month=MAY)

    # then
    assert [i.subject_key for i in april.invoices.all()] == ["owner:4"]
    assert flags(may, "owner:2") == [
        "New billing subject: no invoice for 2026-04.",
        "Enterprise 2: free trial ended on 2026-05-04.",
    ]
    assert flags(may, "owner:3") == [
        "New billing subject: no invoice for 2026-04.",
        "Enterprise 3 became a shop on 2026-05-08.",
        "Enterprise 3: free trial ended on 2026-05-22.",
    ]
    review = run_review(instance=instance, run=may)
    assert [i.subject_key for i in review.dropped] == ["owner:4"]
    assert [i.subject_key for i in review.flagged] == ["owner:2", "owner:3"]


@pytest.mark.django_db
def test_billing_run_execute_flags_plan_change(pg_replica):
    # given: 10.00 a month, then 62.00 a month from 16 May
    shop(pg_replica.writer, 1)
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    plan(instance, fixed_fee=D("10"))
    plan(
        instance,
        name="Standard 2026",
        effective_from=dt.date(2026, 5, 16),
        fixed_fee=D("62"),
    )
    billing_run_execute(instance=instance, month=APRIL)

    # when
    may = billing_run_execute(instance=instance, month=MAY)

    # then: 10 x 15/31 = 4.84 and 62 x 16/31 = 32.00
    assert may.invoices.get().gross == D("36.84")
    assert flags(may) == [
        "Gross 10.00 -> 36.84 GBP (+268 %) since 2026-04.",
        "Enterprise 1: plan changed: Standard (from 2026-01-01) -> Standard 2026 "
        "(from 2026-05-16).",
    ]


# Recompute of a finalised month (rule 9) and corrections


def _finalise(invoice: Invoice, number: str) -> None:
    """What finalising does to the rows this test reads: number, status, orders."""
    for line in invoice.lines.all():
        InvoiceLineOrder.objects.bulk_create(
            InvoiceLineOrder(line=line, **order)
            for order in line_orders(instance=invoice.instance, line=line)
        )
    invoice.status = Invoice.Status.FINALISED
    invoice.number = number
    invoice.save(update_fields=["status", "number"])


def _late_cancellation(pg_replica):
    """May: 10.00 + 10 % of 250.00 = 35.00 net, VAT 20 %: 42.00; finalised, then
    order R000000123 (50.00) is cancelled."""
    w = pg_replica.writer
    shop(w, 101)
    orders(
        w,
        101,
        [(122, at(2026, 5, 4, 9), "200.00"), (123, at(2026, 5, 5, 9), "50.00")],
    )
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    plan(instance, fixed_fee=D("10"), turnover_rate=D("0.10"), tax_rate=D("0.20"))
    may = billing_run_execute(instance=instance, month=MAY)
    invoice = may.invoices.get()
    _finalise(invoice, "UK-2026-0001")
    w.connection.execute("UPDATE spree_orders SET state = 'canceled' WHERE id = 123")
    pg_replica.commit()
    return instance, invoice


def _lines(invoice: Invoice) -> list[tuple]:
    return [(x.pk, x.component, x.amount) for x in invoice.lines.all()]


@pytest.mark.django_db
def test_billing_run_execute_proposes_the_difference_of_a_late_cancellation(
    pg_replica,
):
    # given
    instance, invoice = _late_cancellation(pg_replica)
    before = _lines(invoice)

    # when
    run = billing_run_execute(instance=instance, month=MAY)
    again = billing_run_execute(instance=instance, month=MAY)

    # then: the finalised invoice is untouched; 10 + 10 % of 200.00 = 30.00
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, invoice.gross) == (
        "finalised",
        "UK-2026-0001",
        D("42.00"),
    )
    assert _lines(invoice) == before
    (proposal,) = RecomputeProposal.objects.all()
    assert (
        proposal.run_id,
        proposal.invoice_id,
        proposal.enterprise_id,
        proposal.enterprise_name,
        proposal.status,
    ) == (run.pk, invoice.pk, 101, "Enterprise 101", "proposed")
    assert (
        proposal.invoiced_amount,
        proposal.recomputed_amount,
        proposal.difference,
    ) == (D("35.00"), D("30.00"), D("-5.00"))
    assert proposal.reason == (
        "order R000000123 cancelled after finalisation: turnover 250.00 -> 200.00"
    )
    assert list(run_review(instance=instance, run=again).proposals) == [proposal]


@pytest.mark.django_db
def test_billing_run_execute_removes_a_proposal_that_no_longer_differs(pg_replica):
    # given: the cancelled order is reopened before anyone decided
    instance, _ = _late_cancellation(pg_replica)
    billing_run_execute(instance=instance, month=MAY)
    assert RecomputeProposal.objects.count() == 1
    pg_replica.writer.connection.execute(
        "UPDATE spree_orders SET state = 'resumed' WHERE id = 123"
    )
    pg_replica.commit()

    # when
    billing_run_execute(instance=instance, month=MAY)

    # then
    assert RecomputeProposal.objects.count() == 0


def _accept(proposal: RecomputeProposal, status: str) -> None:
    proposal.status = status
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_at"])


@pytest.mark.django_db
def test_billing_run_execute_adds_an_accepted_correction_to_the_next_draft(
    pg_replica,
):
    # given: the -5.00 difference accepted as a correction on the next invoice
    instance, may_invoice = _late_cancellation(pg_replica)
    billing_run_execute(instance=instance, month=MAY)
    proposal = RecomputeProposal.objects.get()
    _accept(proposal, RecomputeProposal.Status.CORRECTION)

    # when
    billing_run_execute(instance=instance, month=MAY)
    june = billing_run_execute(instance=instance, month=JUNE)
    june_again = billing_run_execute(instance=instance, month=JUNE)

    # then: no new proposal for the settled difference
    assert RecomputeProposal.objects.count() == 1
    # June: 10.00 + 0.00 of turnover - 5.00 = 5.00 net, VAT 20 % 1.00
    draft = june_again.invoices.get()
    assert [(x.component, x.amount, x.tax_rate) for x in draft.lines.all()] == [
        ("fixed_fee", D("10.00"), D("0.20")),
        ("turnover_share", D("0.00"), D("0.20")),
        ("correction", D("-5.00"), D("0.20")),
    ]
    correction = draft.lines.get(component="correction")
    assert correction.corrects_invoice_id == may_invoice.pk
    assert correction.rule == (
        "Correction of invoice UK-2026-0001 (2026-05) for Enterprise 101: invoiced "
        "35.00, recomputed 30.00 GBP: order R000000123 cancelled after "
        "finalisation: turnover 250.00 -> 200.00."
    )
    assert (draft.net, draft.tax, draft.gross) == (D("5.00"), D("1.00"), D("6.00"))
    assert _lines(draft) == _lines(june.invoices.get())
    proposal.refresh_from_db()
    assert proposal.settled_on_invoice_id == draft.pk
    assert "Correction of UK-2026-0001: -5.00 GBP." in draft.review_flags


@pytest.mark.django_db
def test_billing_run_execute_drops_a_correction_no_longer_accepted(pg_replica):
    # given: a June draft carrying the correction, then the proposal is dismissed
    instance, _ = _late_cancellation(pg_replica)
    billing_run_execute(instance=instance, month=MAY)
    proposal = RecomputeProposal.objects.get()
    _accept(proposal, RecomputeProposal.Status.CORRECTION)
    billing_run_execute(instance=instance, month=JUNE)
    _accept(proposal, RecomputeProposal.Status.DISMISSED)

    # when
    june = billing_run_execute(instance=instance, month=JUNE)
    may = billing_run_execute(instance=instance, month=MAY)

    # then: June loses the line and the settlement; a dismissed figure stays closed
    draft = june.invoices.get()
    assert [x.component for x in draft.lines.all()] == [
        "fixed_fee",
        "turnover_share",
    ]
    assert draft.gross == D("12.00")
    proposal.refresh_from_db()
    assert proposal.settled_on_invoice_id is None
    assert RecomputeProposal.objects.count() == 1
    assert list(run_review(instance=instance, run=may).proposals) == []
