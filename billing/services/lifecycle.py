"""Invoice lifecycle: finalise and number, mark paid, void, credit, decide proposals.

Every transition locks the invoice row (select_for_update), re-checks its state, writes
an AuditEvent in the same short transaction and defers its side effects (PDF renders)
to transaction.on_commit.

Numbers (rule 8): a draft has none. Finalising takes the next number of the instance's
series for the calendar year of the finalisation date in the instance's zone, from a
NumberSequence row locked in the very transaction that marks the invoice finalised, so
a transaction that fails gives its number back (gapless, case B22) and two workers can
never take the same one. Replica reads (the orders behind each line) happen before that
transaction, so a slow or failing replica never holds the sequence lock.

A finalised invoice never changes its figures (rule 9): a difference becomes a credit
note, with its own gapless series, or a correction line on a later invoice.
"""

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DatabaseError, transaction
from django.db.models import Sum
from django.utils import timezone

from portal.audit import audit_record
from portal.exceptions import BillingError, InvalidInput, PortalError
from portal.money import ZERO, quantize
from portal.periods import local_date

from .. import selectors
from ..models import (
    BillingSubject,
    Invoice,
    InvoiceLine,
    InvoiceLineOrder,
    NumberSequence,
    RecomputeProposal,
)
from .parties import issuer_snapshot_of

logger = logging.getLogger(__name__)

# Who made a change: a signed-in user, or None for the system (tasks, commands).
Actor = AbstractBaseUser | None
Status = Invoice.Status
# Statuses of an invoice that has a number and may be credited.
CREDITABLE = (Status.FINALISED, Status.SENT, Status.PAID)
LINE_ORDER_BATCH = 1000


# Numbers ---------------------------------------------------------------------------


def invoice_number_format(*, prefix: str, series: str, year: int, number: int) -> str:
    """`UK-2026-0001` for invoices, `UK-CN-2026-0001` for credit notes (rule 8)."""
    if series == NumberSequence.Series.CREDIT_NOTE:
        return f"{prefix}-CN-{year}-{number:04d}"
    return f"{prefix}-{year}-{number:04d}"


def _sequence_id(*, instance, series: str, year: int) -> int:
    # Created outside the numbering transaction: get_or_create inserts in a savepoint
    # and falls back on reading the row a concurrent worker inserted first.
    sequence, _ = NumberSequence.objects.get_or_create(
        instance=instance, series=series, year=year
    )
    return sequence.pk


def _number_take(*, sequence_id: int, instance, series: str, year: int) -> str:
    """The next number of a series; call inside the transaction that uses it.

    The row stays locked until that transaction ends, and a rollback returns the
    number, so numbers are consecutive in the order of commits.
    """
    sequence = NumberSequence.objects.select_for_update().get(pk=sequence_id)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return invoice_number_format(
        prefix=instance.invoice_prefix,
        series=series,
        year=year,
        number=sequence.last_number,
    )


# Snapshots and guards -----------------------------------------------------------


def invoice_require_draft(invoice: Invoice) -> None:
    """Raise BillingError unless `invoice` is a draft, the only state that may change.

    Any code about to change an invoice's figures calls this on the locked row.
    """
    if invoice.status != Status.DRAFT:
        raise BillingError(
            f"Invoice {invoice.number or invoice.pk} is {invoice.get_status_display()}"
            ": a finalised invoice never changes. Issue a credit note, or accept the "
            "difference as a correction on the next invoice."
        )


def _subject_freeze(invoice: Invoice) -> None:
    """Copy the subject's current invoice details onto the invoice (kept from now)."""
    subject = BillingSubject.objects.filter(
        instance_id=invoice.instance_id, key=invoice.subject_key
    ).first()
    if subject is None:
        return
    invoice.subject_name = subject.invoice_name
    invoice.subject_email = subject.email
    invoice.subject_address = subject.address
    invoice.subject_tax_id = subject.tax_id


def _render_later(invoice: Invoice) -> None:
    """Queue the invoice's PDF render once the current transaction commits.

    Robust: the transition has committed whatever happens to the queueing (or, when
    tasks run in process, to the render itself); a render that fails records
    "render failed" on the invoice, and a render never queued stays "waiting".
    """
    # Imported here: the tasks package imports the services at load time.
    from ..tasks import invoice_render_task

    invoice_id = invoice.pk
    transaction.on_commit(lambda: invoice_render_task.delay(invoice_id), robust=True)


def _log(invoice: Invoice) -> dict:
    return {
        "instance": invoice.instance.slug,
        "invoice": invoice.pk,
        "number": invoice.number,
        "month": f"{invoice.month:%Y-%m}",
    }


# Finalising -----------------------------------------------------------------------


def line_order_fields(order) -> dict:
    """An order from `selectors.line_orders` (a model row or a mapping) as plain fields.

    The fields InvoiceLineOrder keeps: order_id, number, completed_at, total.
    """

    def value(*names):
        for name in names:
            found = (
                order.get(name)
                if isinstance(order, dict)
                else getattr(order, name, None)
            )
            if found is not None:
                return found
        return None

    return {
        "order_id": value("order_id", "id"),
        "number": value("number") or "",
        "completed_at": value("completed_at"),
        "total": value("total"),
    }


def _orders_behind(invoice: Invoice) -> dict[int, list]:
    """The replica orders behind each line of `invoice`, unbounded, by line id.

    Lines measuring the same window share one query; lines without a window (fees
    with no orders behind them, trials, one-off charges) read nothing.
    """
    by_window: dict[str, list] = {}
    orders = {}
    for line in invoice.lines.all():
        window = (line.explanation or {}).get("window")
        if not window:
            continue
        key = json.dumps(window, sort_keys=True, default=str)
        if key not in by_window:
            by_window[key] = list(
                selectors.line_orders(instance=invoice.instance, line=line, limit=None)
            )
        orders[line.pk] = by_window[key]
    return orders


def _line_orders_freeze(orders: dict[int, list]) -> int:
    rows = [
        InvoiceLineOrder(line_id=line_id, **line_order_fields(order))
        for line_id, line_orders in orders.items()
        for order in line_orders
    ]
    InvoiceLineOrder.objects.filter(line_id__in=list(orders)).delete()
    InvoiceLineOrder.objects.bulk_create(rows, batch_size=LINE_ORDER_BATCH)
    return len(rows)


def invoice_finalise(
    *,
    invoice: Invoice,
    actor: Actor = None,
    reason: str = "",
    as_of: dt.datetime | None = None,
) -> Invoice:
    """Finalise a draft: number it, date it, freeze its parties and orders (rule 8).

    Returns the finalised invoice; its PDF renders after the commit. Raises
    BillingError when the invoice is no longer a draft, and a ReplicaError when the
    orders behind its lines cannot be read (nothing is numbered then).
    """
    instance = invoice.instance
    invoice_require_draft(invoice)
    figures = Invoice.objects.values_list("content_hash", flat=True).get(pk=invoice.pk)
    orders = _orders_behind(invoice)
    issued_on = local_date(as_of or timezone.now(), instance.time_zone)
    series = NumberSequence.Series.INVOICE
    sequence_id = _sequence_id(instance=instance, series=series, year=issued_on.year)
    with transaction.atomic():
        locked = _locked(invoice)
        invoice_require_draft(locked)
        if locked.content_hash != figures:
            # A recompute replaced the lines whose orders were just read.
            raise BillingError(
                f"The draft of {locked.subject_name} was recomputed while it was "
                "being finalised: check it and finalise it again."
            )
        previous_pdf = locked.pdf.name
        frozen = _line_orders_freeze(orders)
        _finalised_fields_set(locked, issued_on=issued_on)
        # Last, so the series stays locked only for the writes that follow.
        locked.number = _number_take(
            sequence_id=sequence_id,
            instance=instance,
            series=series,
            year=issued_on.year,
        )
        locked.save(update_fields=FINALISED_FIELDS)
        audit_record(
            action="invoice.finalised",
            target=locked,
            actor=actor,
            instance=instance,
            reason=reason,
            details={
                "number": locked.number,
                "issued_on": str(locked.issued_on),
                "due_on": str(locked.due_on),
                "gross": str(quantize(locked.gross, locked.currency)),
                "orders_frozen": frozen,
            },
        )
        _render_later(locked)
        if previous_pdf:
            # The draft's PDF says "draft": nobody should open it once numbered.
            storage = locked.pdf.storage
            transaction.on_commit(lambda: storage.delete(previous_pdf), robust=True)
    logger.info("Invoice finalised", extra=_log(locked))
    return locked


FINALISED_FIELDS = [
    "status",
    "number",
    "issued_on",
    "due_on",
    "subject_name",
    "subject_email",
    "subject_address",
    "subject_tax_id",
    "issuer",
    "pdf",
    "pdf_status",
    "pdf_error",
    "updated_at",
]


def _finalised_fields_set(invoice: Invoice, *, issued_on: dt.date) -> None:
    issuer = issuer_snapshot_of(instance=invoice.instance)
    invoice.status = Status.FINALISED
    invoice.issued_on = issued_on
    invoice.due_on = issued_on + dt.timedelta(days=issuer["payment_terms_days"])
    invoice.issuer = issuer
    _subject_freeze(invoice)
    invoice.pdf.name = ""
    invoice.pdf_status = Invoice.PdfStatus.PENDING
    invoice.pdf_error = ""


@dataclass
class FinaliseOutcome:
    """What `invoice_finalise_many` did: finalised invoices, and failures in words."""

    finalised: list[Invoice] = field(default_factory=list)
    failed: list[tuple[Invoice, str]] = field(default_factory=list)


def invoice_finalise_many(
    *,
    invoices: Iterable[Invoice],
    actor: Actor = None,
    as_of: dt.datetime | None = None,
) -> FinaliseOutcome:
    """Finalise several drafts in subject order, each in its own transaction.

    One failure does not stop the others; it is reported, and its draft keeps no
    number (the next invoice takes the number it would have had).
    """
    outcome = FinaliseOutcome()
    for invoice in sorted(invoices, key=lambda i: (i.subject_name, i.pk)):
        try:
            outcome.finalised.append(
                invoice_finalise(invoice=invoice, actor=actor, as_of=as_of)
            )
        except (PortalError, DatabaseError) as error:
            logger.warning(
                "Invoice finalisation failed",
                extra={**_log(invoice), "error": str(error)},
            )
            outcome.failed.append((invoice, str(error)))
    return outcome


# Later transitions ----------------------------------------------------------------


def _locked(invoice: Invoice) -> Invoice:
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    locked.instance = invoice.instance
    return locked


def _refuse(invoice: Invoice, allowed: Iterable[str], action: str) -> None:
    if invoice.status not in allowed:
        raise BillingError(
            f"Invoice {invoice.number or invoice.pk} is "
            f"{invoice.get_status_display().lower()}: it cannot be {action}."
        )


def invoice_mark_paid(
    *, invoice: Invoice, actor: Actor, paid_on: dt.date, reference: str
) -> Invoice:
    """Record a payment received by hand: its date and the bank's reference."""
    reference = reference.strip()
    if not reference:
        raise InvalidInput("Give the payment's reference (as on the bank statement).")
    with transaction.atomic():
        locked = _locked(invoice)
        _refuse(locked, (Status.FINALISED, Status.SENT), "marked paid")
        today = local_date(timezone.now(), locked.instance.time_zone)
        if paid_on > today:
            raise InvalidInput(
                f"Payment date {paid_on} is in the future: give the day the money "
                "arrived."
            )
        locked.status = Status.PAID
        locked.paid_on = paid_on
        locked.payment_reference = reference
        locked.save(
            update_fields=["status", "paid_on", "payment_reference", "updated_at"]
        )
        audit_record(
            action="invoice.paid",
            target=locked,
            actor=actor,
            instance=locked.instance,
            details={"paid_on": str(paid_on), "reference": reference},
        )
    logger.info("Invoice marked paid", extra=_log(locked))
    return locked


def invoice_void(*, invoice: Invoice, actor: Actor, reason: str) -> Invoice:
    """Cancel a draft, or a finalised invoice nobody was sent, keeping its number.

    A sent invoice is never voided: its subject holds it, so it is credited instead.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the invoice is void.")
    with transaction.atomic():
        locked = _locked(invoice)
        if locked.kind == Invoice.Kind.CREDIT_NOTE:
            raise BillingError(
                f"Credit note {locked.number} cannot be voided: issue a new invoice "
                "for the amount instead."
            )
        if locked.status in (Status.SENT, Status.PAID):
            raise BillingError(
                f"Invoice {locked.number} was sent: it cannot be voided. Issue a "
                "credit note instead."
            )
        _refuse(locked, (Status.DRAFT, Status.FINALISED), "voided")
        previous = locked.status
        locked.status = Status.VOID
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            action="invoice.voided",
            target=locked,
            actor=actor,
            instance=locked.instance,
            reason=reason,
            details={"from": previous, "number": locked.number},
        )
    logger.info("Invoice voided", extra=_log(locked))
    return locked


def invoice_render_retry(*, invoice: Invoice, actor: Actor) -> Invoice:
    """Queue a new PDF render of an invoice whose last render failed."""
    with transaction.atomic():
        locked = _locked(invoice)
        if locked.pdf_status != Invoice.PdfStatus.FAILED:
            raise BillingError(
                f"The PDF of {locked} is {locked.get_pdf_status_display().lower()}: "
                "only a failed render is retried by hand."
            )
        locked.pdf_status = Invoice.PdfStatus.PENDING
        locked.save(update_fields=["pdf_status", "updated_at"])
        audit_record(
            action="invoice.render_retried",
            target=locked,
            actor=actor,
            instance=locked.instance,
            details={"error": locked.pdf_error},
        )
        _render_later(locked)
    return locked


# Credit notes ---------------------------------------------------------------------


@dataclass(frozen=True)
class CreditLine:
    """Part of an invoice to credit: `amount` (positive) of one shop's charges.

    The amount is in the invoice's line terms: before tax when its prices exclude
    tax, tax included when they include it.
    """

    enterprise_id: int
    amount: Decimal
    description: str = "Credit"
    rule: str = ""


def _mirror_lines(invoice: Invoice) -> list[InvoiceLine]:
    """Every line of `invoice` negated: rounded amounts mirror exactly (B13)."""
    return [
        InvoiceLine(
            position=line.position,
            enterprise_id=line.enterprise_id,
            enterprise_name=line.enterprise_name,
            category=line.category,
            component=InvoiceLine.Component.CREDIT,
            description=f"Credit: {line.description}",
            rule=f"Credits line {line.position} of {invoice.number}: {line.rule}",
            explanation={"credits_line": line.pk},
            plan=line.plan,
            turnover=line.turnover,
            order_count=line.order_count,
            billable_days=line.billable_days,
            days_in_month=line.days_in_month,
            tax_rate=line.tax_rate,
            amount=-line.amount,
            corrects_invoice=invoice,
        )
        for line in invoice.lines.all()
    ]


def _credited_by_shop(invoice: Invoice) -> dict[int, Decimal]:
    """What earlier credit notes gave back per shop (negative amounts)."""
    return dict(
        InvoiceLine.objects.filter(
            invoice__credited_invoice=invoice,
            invoice__kind=Invoice.Kind.CREDIT_NOTE,
        )
        .values_list("enterprise_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )


def _partial_lines(invoice: Invoice, credits: list[CreditLine]) -> list[InvoiceLine]:
    """One credit line per CreditLine, never more than what is left of a shop."""
    charged: dict[int, Decimal] = {}
    shops = {}
    for line in invoice.lines.all():
        shops.setdefault(line.enterprise_id, line)
        charged[line.enterprise_id] = (
            charged.get(line.enterprise_id, ZERO) + line.amount
        )
    credited = _credited_by_shop(invoice)
    lines = []
    for position, credit in enumerate(credits, 1):
        shop = shops.get(credit.enterprise_id)
        if shop is None:
            raise BillingError(
                f"Shop {credit.enterprise_id} has no line on {invoice.number}."
            )
        amount = quantize(credit.amount, invoice.currency)
        left = charged[shop.enterprise_id] + credited.get(shop.enterprise_id, ZERO)
        if amount <= 0 or amount > left:
            raise BillingError(
                f"Cannot credit {amount} {invoice.currency} to {shop.enterprise_name}"
                f" on {invoice.number}: between 0 and {left} is left to credit."
            )
        credited[shop.enterprise_id] = credited.get(shop.enterprise_id, ZERO) - amount
        lines.append(_credit_line(invoice, shop, credit, position, amount))
    return lines


def _credit_line(
    invoice: Invoice, shop: InvoiceLine, credit: CreditLine, position: int, amount
) -> InvoiceLine:
    return InvoiceLine(
        position=position,
        enterprise_id=shop.enterprise_id,
        enterprise_name=shop.enterprise_name,
        category=shop.category,
        component=InvoiceLine.Component.CREDIT,
        description=credit.description,
        rule=credit.rule or f"Credit on {invoice.number}.",
        plan=shop.plan,
        turnover=ZERO,
        order_count=0,
        billable_days=shop.billable_days,
        days_in_month=shop.days_in_month,
        tax_rate=invoice.tax_rate,
        amount=-amount,
        corrects_invoice=invoice,
    )


def tax_by_rate(
    *, amounts: list[tuple[Decimal, Decimal]], currency: str, prices_include_tax: bool
) -> dict[str, dict[str, Decimal]]:
    """Net and tax per rate of (amount, rate) pairs, tax computed once per rate.

    Rounded half away from zero, so negated amounts give exactly negated tax.
    """
    totals: dict[Decimal, Decimal] = {}
    for amount, rate in amounts:
        totals[rate] = totals.get(rate, ZERO) + amount
    breakdown = {}
    for rate, total in sorted(totals.items()):
        if prices_include_tax:
            tax = quantize(total - total / (1 + rate), currency)
            net = total - tax
        else:
            tax = quantize(total * rate, currency)
            net = total
        breakdown[f"{rate:.4f}"] = {"net": net, "tax": tax}
    return breakdown


def _negated_breakdown(breakdown: dict) -> dict:
    return {
        rate: {key: str(-Decimal(value)) for key, value in figures.items()}
        for rate, figures in breakdown.items()
    }


def _credit_note_totals(invoice: Invoice, lines: list[InvoiceLine], full: bool):
    if full:
        return (
            -invoice.net,
            -invoice.tax,
            -invoice.gross,
            _negated_breakdown(invoice.tax_breakdown or {}),
        )
    breakdown = tax_by_rate(
        amounts=[(line.amount, line.tax_rate) for line in lines],
        currency=invoice.currency,
        prices_include_tax=invoice.prices_include_tax,
    )
    net = sum((figures["net"] for figures in breakdown.values()), ZERO)
    tax = sum((figures["tax"] for figures in breakdown.values()), ZERO)
    as_text = {
        rate: {key: str(value) for key, value in figures.items()}
        for rate, figures in breakdown.items()
    }
    return net, tax, net + tax, as_text


def _credit_note_create(
    *,
    invoice: Invoice,
    lines: list[InvoiceLine],
    full: bool,
    issued_on: dt.date,
    sequence_id: int,
) -> Invoice:
    net, tax, gross, breakdown = _credit_note_totals(invoice, lines, full)
    digest = hashlib.sha256(
        json.dumps(
            [invoice.pk, [(line.enterprise_id, str(line.amount)) for line in lines]]
        ).encode()
    ).hexdigest()
    note = Invoice.objects.create(
        run=invoice.run,
        instance=invoice.instance,
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        month=invoice.month,
        subject_key=invoice.subject_key,
        subject_name=invoice.subject_name,
        subject_email=invoice.subject_email,
        subject_address=invoice.subject_address,
        subject_tax_id=invoice.subject_tax_id,
        issuer=issuer_snapshot_of(instance=invoice.instance),
        plan=invoice.plan,
        currency=invoice.currency,
        tax_rate=invoice.tax_rate,
        prices_include_tax=invoice.prices_include_tax,
        net=net,
        tax=tax,
        gross=gross,
        tax_breakdown=breakdown,
        status=Status.FINALISED,
        number=_number_take(
            sequence_id=sequence_id,
            instance=invoice.instance,
            series=NumberSequence.Series.CREDIT_NOTE,
            year=issued_on.year,
        ),
        issued_on=issued_on,
        # Money given back is due at once.
        due_on=issued_on,
        content_hash=digest,
        pdf_status=Invoice.PdfStatus.PENDING,
    )
    for line in lines:
        line.invoice = note
    InvoiceLine.objects.bulk_create(lines)
    return note


def _credit_note_issue_locked(
    *,
    locked: Invoice,
    actor: Actor,
    reason: str,
    credits: list[CreditLine] | None,
    sequence_id: int,
    issued_on: dt.date,
) -> Invoice:
    if locked.kind != Invoice.Kind.INVOICE:
        raise BillingError(f"{locked.number} is a credit note: it cannot be credited.")
    _refuse(locked, CREDITABLE, "credited")
    already = sum(_credited_by_shop(locked).values(), ZERO)
    if credits is None:
        if already:
            raise BillingError(
                f"{locked.number} is already partly credited: credit the rest line "
                "by line."
            )
        lines = _mirror_lines(locked)
    else:
        lines = _partial_lines(locked, credits)
    note = _credit_note_create(
        invoice=locked,
        lines=lines,
        full=credits is None,
        issued_on=issued_on,
        sequence_id=sequence_id,
    )
    charged = sum((line.amount for line in locked.lines.all()), ZERO)
    credited = already + sum((line.amount for line in lines), ZERO)
    fully = charged + credited == 0
    if fully:
        locked.status = Status.CREDITED
        locked.save(update_fields=["status", "updated_at"])
    audit_record(
        action="invoice.credit_note_issued",
        target=note,
        actor=actor,
        instance=locked.instance,
        reason=reason,
        details={
            "credits": locked.number,
            "gross": str(quantize(note.gross, note.currency)),
        },
    )
    audit_record(
        action="invoice.credited",
        target=locked,
        actor=actor,
        instance=locked.instance,
        reason=reason,
        details={
            "credit_note": note.number,
            "gross": str(quantize(note.gross, note.currency)),
            "fully_credited": fully,
        },
    )
    _render_later(note)
    return note


def _credit_context(invoice: Invoice, as_of: dt.datetime | None):
    issued_on = local_date(as_of or timezone.now(), invoice.instance.time_zone)
    sequence_id = _sequence_id(
        instance=invoice.instance,
        series=NumberSequence.Series.CREDIT_NOTE,
        year=issued_on.year,
    )
    return issued_on, sequence_id


def credit_note_issue(
    *,
    invoice: Invoice,
    actor: Actor,
    reason: str,
    lines: list[CreditLine] | None = None,
    as_of: dt.datetime | None = None,
) -> Invoice:
    """Issue a credit note for all of `invoice` (lines=None) or for some shops' charges.

    A full credit note mirrors every line negated, so invoice plus credit note is
    exactly zero (B13), and the invoice becomes "credited"; so does an invoice whose
    partial credit notes reach its total. Credit notes number in their own series.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the invoice is credited.")
    issued_on, sequence_id = _credit_context(invoice, as_of)
    with transaction.atomic():
        note = _credit_note_issue_locked(
            locked=_locked(invoice),
            actor=actor,
            reason=reason,
            credits=lines,
            sequence_id=sequence_id,
            issued_on=issued_on,
        )
    logger.info("Credit note issued", extra=_log(note))
    return note


# Recompute proposals --------------------------------------------------------------


ACCEPT_AS = ("credit_note", "correction")


def _proposal_locked(proposal: RecomputeProposal) -> RecomputeProposal:
    locked = (
        RecomputeProposal.objects.select_for_update()
        .select_related("invoice__instance")
        .get(pk=proposal.pk)
    )
    if locked.status != RecomputeProposal.Status.PROPOSED:
        raise BillingError(
            f"The difference for {locked.enterprise_name} was already decided: "
            f"{locked.get_status_display().lower()}."
        )
    return locked


def _proposal_decide(locked: RecomputeProposal, status: str, actor: Actor) -> None:
    locked.status = status
    locked.decided_by = actor if actor is not None and actor.is_authenticated else None
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])


def _proposal_credit_line(proposal: RecomputeProposal) -> CreditLine:
    invoice = proposal.invoice
    if proposal.difference >= 0:
        raise BillingError(
            f"The recompute of {proposal.enterprise_name} charges "
            f"{proposal.difference} {invoice.currency} more than {invoice.number}: a "
            "credit note only gives money back. Accept it as a correction instead."
        )
    return CreditLine(
        enterprise_id=proposal.enterprise_id,
        amount=-proposal.difference,
        description=f"Recomputed charges of {invoice.month:%Y-%m}",
        rule=(
            f"Invoiced {proposal.invoiced_amount:f}, recomputed "
            f"{proposal.recomputed_amount:f} {invoice.currency}"
            f"{': ' + proposal.reason if proposal.reason else ''}."
        ),
    )


def proposal_accept(
    *,
    proposal: RecomputeProposal,
    actor: Actor,
    as_: str = "credit_note",
    as_of: dt.datetime | None = None,
) -> RecomputeProposal:
    """Accept a recompute's difference for one shop.

    As a credit note: a credit note for the difference on that shop's charges,
    issued now. As a correction: the billing run settles it with a correction line
    on the subject's next draft.
    """
    if as_ not in ACCEPT_AS:
        raise InvalidInput(f"Accept a difference as one of {', '.join(ACCEPT_AS)}.")
    invoice = proposal.invoice
    issued_on, sequence_id = _credit_context(invoice, as_of)
    note = None
    with transaction.atomic():
        locked = _proposal_locked(proposal)
        if as_ == "credit_note":
            locked_invoice = _locked(locked.invoice)
            locked.invoice = locked_invoice
            note = _credit_note_issue_locked(
                locked=locked_invoice,
                actor=actor,
                reason=locked.reason or "Recomputed after finalisation",
                credits=[_proposal_credit_line(locked)],
                sequence_id=sequence_id,
                issued_on=issued_on,
            )
            status = RecomputeProposal.Status.CREDIT_NOTE
        else:
            status = RecomputeProposal.Status.CORRECTION
        _proposal_decide(locked, status, actor)
        currency = locked.invoice.currency
        audit_record(
            action=f"recompute_proposal.accepted_as_{as_}",
            target=locked,
            actor=actor,
            instance=locked.invoice.instance,
            details={
                "invoice": locked.invoice.number,
                "enterprise_id": locked.enterprise_id,
                "difference": str(quantize(locked.difference, currency)),
                "credit_note": note.number if note else None,
            },
        )
    return locked


def proposal_dismiss(
    *, proposal: RecomputeProposal, actor: Actor, reason: str
) -> RecomputeProposal:
    """Leave the finalised invoice as it is and close the proposal, saying why."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say why the difference is dismissed.")
    with transaction.atomic():
        locked = _proposal_locked(proposal)
        _proposal_decide(locked, RecomputeProposal.Status.DISMISSED, actor)
        audit_record(
            action="recompute_proposal.dismissed",
            target=locked,
            actor=actor,
            instance=locked.invoice.instance,
            reason=reason,
            details={
                "invoice": locked.invoice.number,
                "enterprise_id": locked.enterprise_id,
                "difference": str(quantize(locked.difference, locked.invoice.currency)),
            },
        )
    return locked
