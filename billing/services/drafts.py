"""Writing a month's drafts: subjects prefilled, one draft per subject upserted in bulk,
corrections carried, review flags set (rules 4, 5, 9)."""

import functools
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connections, models, router
from django.db.models import Q
from django.utils import timezone
from psycopg import sql

from instances.models import Instance
from portal.money import ZERO, quantize
from portal.periods import Month

from .. import engine, selectors
from ..models import (
    BillingRun,
    BillingSubject,
    Invoice,
    InvoiceLine,
    IssuerProfile,
    RecomputeProposal,
)
from . import review
from .compute import SubjectDraft
from .parties import issuer_default_snapshot, issuer_snapshot

Component = InvoiceLine.Component
DEFAULT_REVIEW_THRESHOLD = Decimal("0.25")
# Keys of a computed line that are not InvoiceLine fields.
_ROW_ONLY = ("prices_include_tax",)


def _issuer(instance: Instance) -> tuple[dict, Decimal]:
    """The issuer snapshot an invoice prints, and the instance's review threshold."""
    profile = IssuerProfile.objects.filter(instance=instance).first()
    if profile is None:
        return issuer_default_snapshot(instance), DEFAULT_REVIEW_THRESHOLD
    return issuer_snapshot(profile), profile.review_change_threshold


def _prefill(subject: SubjectDraft) -> dict:
    return {
        "invoice_name": subject.name[:255],
        "email": subject.email[:254],
        "address": subject.address,
    }


def billing_subjects_refresh(
    *, instance: Instance, subjects: list[SubjectDraft]
) -> dict[str, BillingSubject]:
    """Create or refresh subjects' invoice details from OFN (rule 4).

    A subject a person edited (edited_at set) is never overwritten.
    """
    keys = [subject.key for subject in subjects]
    rows = {
        row.key: row
        for row in BillingSubject.objects.filter(instance=instance, key__in=keys)
    }
    new, changed, now = [], [], timezone.now()
    for subject in subjects:
        values = _prefill(subject)
        row = rows.get(subject.key)
        if row is None:
            new.append(BillingSubject(instance=instance, key=subject.key, **values))
        elif row.edited_at is None and any(
            getattr(row, name) != value for name, value in values.items()
        ):
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now
            changed.append(row)
    # A run of another month may create the same subject at the same moment.
    BillingSubject.objects.bulk_create(new, ignore_conflicts=True)
    BillingSubject.objects.bulk_update(
        changed, ["invoice_name", "email", "address", "updated_at"]
    )
    if new:
        rows = {
            row.key: row
            for row in BillingSubject.objects.filter(instance=instance, key__in=keys)
        }
    return rows


def _correction_row(proposal: RecomputeProposal, month: Month, category: str) -> dict:
    corrected = proposal.invoice
    currency = corrected.currency
    number = corrected.number or f"#{corrected.pk}"
    amount = quantize(proposal.difference, currency)
    rule = (
        f"Correction of invoice {number} ({corrected.month:%Y-%m}) for "
        f"{proposal.enterprise_name}: invoiced "
        f"{quantize(proposal.invoiced_amount, currency)}, recomputed "
        f"{quantize(proposal.recomputed_amount, currency)} {currency}"
        f"{': ' + proposal.reason if proposal.reason else ''}."
    )
    return {
        "enterprise_id": proposal.enterprise_id,
        "enterprise_name": proposal.enterprise_name,
        "category": category,
        "component": Component.CORRECTION,
        "description": f"Correction of {number}",
        "rule": rule,
        "explanation": {
            "rule": Component.CORRECTION,
            "proposal": proposal.pk,
            "corrects": {
                "id": corrected.pk,
                "number": corrected.number,
                "month": f"{corrected.month:%Y-%m}",
            },
            "inputs": {
                "invoiced": str(proposal.invoiced_amount),
                "recomputed": str(proposal.recomputed_amount),
                "difference": str(proposal.difference),
                "reason": proposal.reason,
            },
        },
        "plan_id": None,
        "turnover": ZERO,
        "order_count": 0,
        "billable_days": 0,
        "days_in_month": month.days,
        "tax_rate": corrected.tax_rate,
        "amount": amount,
        "one_off_code": "",
        "corrects_invoice_id": corrected.pk,
        "prices_include_tax": corrected.prices_include_tax,
    }


def _corrections_due(*, instance, month, run) -> dict[str, list[RecomputeProposal]]:
    """Accepted corrections of earlier months not yet settled on another invoice."""
    due = (
        RecomputeProposal.objects.filter(
            invoice__instance=instance,
            invoice__month__lt=month.first_day,
            status=RecomputeProposal.Status.CORRECTION,
        )
        .filter(
            Q(settled_on_invoice__isnull=True)
            | Q(
                settled_on_invoice__run=run,
                settled_on_invoice__status=Invoice.Status.DRAFT,
            )
        )
        .select_related("invoice")
        .order_by("invoice__month", "invoice_id", "enterprise_id", "id")
    )
    by_subject: dict[str, list[RecomputeProposal]] = {}
    for proposal in due:
        by_subject.setdefault(proposal.invoice.subject_key, []).append(proposal)
    return by_subject


def _totals(rows: list[dict], currency: str) -> engine.InvoiceTotals:
    return engine.lines_totals(
        lines=[(r["amount"], r["tax_rate"], r["prices_include_tax"]) for r in rows],
        currency=currency,
    )


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# Stand-ins spliced out of a canonical text: NUL never occurs in stored text.
_EXPLANATION = "\x00explanation\x00"
_LINES = "\x00lines\x00"


def _lines_canonical(rows: list[dict]) -> tuple[str, list[str]]:
    """The canonical text of `rows`, and of each row's explanation.

    The same text as _canonical(rows), built so that each explanation is encoded once
    for both the content hash and the line's COPY row.
    """
    explanations = [_canonical(row["explanation"]) for row in rows]
    stand_in = _canonical(_EXPLANATION)
    texts = [
        _canonical({**row, "explanation": _EXPLANATION}).replace(stand_in, text, 1)
        for row, text in zip(rows, explanations, strict=True)
    ]
    return f"[{', '.join(texts)}]", explanations


def _digest(content: dict, lines_text: str) -> str:
    """Hash of `content` whose "lines" stand-in is `lines_text` (_lines_canonical)."""
    text = _canonical(content)
    text = text.replace(_canonical(_LINES), lines_text, 1)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _Context:
    """What writing a run's drafts needs besides the subjects themselves."""

    run: BillingRun
    month: Month
    subjects: dict[str, BillingSubject]
    issuer: dict
    threshold: Decimal
    previous: dict[str, Invoice]
    corrections: dict[str, list[RecomputeProposal]]


def _context(*, run: BillingRun, month: Month, subjects) -> _Context:
    instance = run.instance
    issuer, threshold = _issuer(instance)
    previous = {
        invoice.subject_key: invoice
        for invoice in selectors.live_invoice_list(
            instance=instance, month=month.previous()
        ).prefetch_related("lines")
    }
    return _Context(
        run=run,
        month=month,
        subjects=billing_subjects_refresh(instance=instance, subjects=subjects),
        issuer=issuer,
        threshold=threshold,
        previous=previous,
        corrections=_corrections_due(instance=instance, month=month, run=run),
    )


def _draft_fill(
    invoice: Invoice, *, rows, lines_text: str, subject: BillingSubject, ctx
) -> bool:
    """Set a draft's figures and details; False when nothing printed changed."""
    currency = ctx.run.instance.currency
    totals = _totals(rows, currency)
    main = rows[0]
    content = {
        "subject": [subject.invoice_name, subject.email, subject.address],
        "tax_id": subject.tax_id,
        "issuer": ctx.issuer,
        "lines": _LINES,
        "totals": [totals.net, totals.tax, totals.gross, totals.breakdown],
    }
    digest = _digest(content, lines_text)
    invoice.review_flags = review.review_flags(
        lines=rows,
        gross=totals.gross,
        previous=ctx.previous.get(invoice.subject_key),
        month=ctx.month,
        currency=currency,
        threshold=ctx.threshold,
    )
    if invoice.pk and invoice.content_hash == digest:
        return False
    invoice.subject_name = subject.invoice_name
    invoice.subject_email = subject.email
    invoice.subject_address = subject.address
    invoice.subject_tax_id = subject.tax_id
    invoice.issuer = ctx.issuer
    invoice.plan_id = main["plan_id"]
    invoice.currency = currency
    invoice.tax_rate = main["tax_rate"]
    invoice.prices_include_tax = main["prices_include_tax"]
    invoice.net, invoice.tax, invoice.gross = totals.net, totals.tax, totals.gross
    invoice.tax_breakdown = totals.breakdown
    invoice.content_hash = digest
    invoice.pdf_status = Invoice.PdfStatus.PENDING
    return True


DRAFT_FIELDS = [
    "subject_name",
    "subject_email",
    "subject_address",
    "subject_tax_id",
    "issuer",
    "plan",
    "currency",
    "tax_rate",
    "prices_include_tax",
    "net",
    "tax",
    "gross",
    "tax_breakdown",
    "review_flags",
    "content_hash",
    "pdf_status",
    "updated_at",
]


def _line_values(invoice: Invoice, rows: list[dict]) -> list[dict]:
    return [
        {
            "invoice_id": invoice.pk,
            "position": n,
            **{k: v for k, v in row.items() if k not in _ROW_ONLY},
        }
        for n, row in enumerate(rows, 1)
    ]


def _stamped(field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _rows_insert(model, rows: list[dict], encoded: dict | None = None) -> list[int]:
    """Insert rows given as {attname: value} (missing fields take their default) and
    return their new primary keys, in order.

    `encoded` maps id() of JSON values of `rows` to their JSON text, to skip encoding
    them again (the caller keeps them alive, so ids are not reused meanwhile).

    On PostgreSQL this is a COPY: Django's bulk_create prepares every value through
    its SQL compiler and sends them as array literals quoted in Python, which made
    writing a large run's lines cost more than the replica aggregates the run rests
    on. COPY hands the same database values to psycopg's own encoders.
    """
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql" or len(rows) < 2:
        objects = [model(**row) for row in rows]
        model.objects.bulk_create(objects)
        return [obj.pk for obj in objects]
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    defaults = {f.attname: now if _stamped(f) else f.get_default() for f in fields}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) "
            "FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        pks = [pk for (pk,) in cursor.fetchall()]
        columns = [
            (f.attname, defaults[f.attname], _copy_prep(f, connection, encoded or {}))
            for f in fields
        ]
        as_is = [(name, default) for name, default, prep in columns if prep is None]
        prepped = [
            (name, default, prep) for name, default, prep in columns if prep is not None
        ]
        # Values in the order of `columns`: as-is ones first, then prepared ones.
        order = [name for name, _ in as_is] + [name for name, _, _ in prepped]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(meta.db_table),
            sql.SQL(", ").join(
                sql.Identifier(meta.get_field(name).column)
                for name in [meta.pk.attname, *order]
            ),
        )
        with cursor.cursor.copy(statement) as copy:
            write = copy.write_row
            for pk, row in zip(pks, rows, strict=True):
                get = row.get
                values = [pk]
                values += [get(name, default) for name, default in as_is]
                values += [prep(get(name, default)) for name, default, prep in prepped]
                write(values)
    return pks


# Values psycopg encodes as they are: Django's preparation of these only re-checks
# them (Decimal columns round to their scale in PostgreSQL, as Django would).
_COPY_AS_IS = {
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DecimalField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "TextField",
}


def _copy_prep(field, connection, encoded: dict):
    """How a field's value becomes a COPY value; None when it is written as it is."""
    internal = field.get_internal_type()
    if internal in _COPY_AS_IS:
        return None
    if internal == "JSONField" and field.encoder is None:
        # What Django hands psycopg for such a field, already as text: COPY reads
        # jsonb from its text form, so no adapter object per value.
        def json_text(value):
            if value is None:
                return None
            text = encoded.get(id(value))
            return json.dumps(value) if text is None else text

        return json_text
    return functools.partial(field.get_db_prep_save, connection=connection)


def _invoices_insert(invoices: list[Invoice]) -> None:
    fields = [f for f in Invoice._meta.concrete_fields if not f.primary_key]
    # pre_save only where it does something (timestamps, files); the other fields
    # are read as they are, without a method call per field and invoice.
    saved = [f for f in fields if _stamped(f) or isinstance(f, models.FileField)]
    plain = [f.attname for f in fields if f not in saved]
    pks = _rows_insert(
        Invoice,
        [
            {name: getattr(invoice, name) for name in plain}
            | {f.attname: f.pre_save(invoice, True) for f in saved}
            for invoice in invoices
        ],
    )
    for invoice, pk in zip(invoices, pks, strict=True):
        invoice.pk = pk
        invoice._state.adding = False
        invoice._state.db = router.db_for_write(Invoice)


@dataclass
class _Written:
    changed: list[int] = field(default_factory=list)
    kept: list[Invoice] = field(default_factory=list)


def _drafts_write(*, ctx: _Context, drafts: list) -> _Written:
    """Upsert drafts in bulk: new ones created, changed ones updated, lines replaced."""
    written = _Written()
    new, updated, lines, settled = [], [], {}, []
    for invoice, subject in drafts:
        corrections = ctx.corrections.get(subject.key, [])
        category = next(iter(subject.categories.values()), "")
        rows = subject.lines + [
            _correction_row(
                p, ctx.month, subject.categories.get(p.enterprise_id, category)
            )
            for p in corrections
        ]
        invoice = invoice or Invoice(
            run=ctx.run,
            instance=ctx.run.instance,
            month=ctx.run.month,
            subject_key=subject.key,
        )
        flags = invoice.review_flags
        lines_text, explanations = _lines_canonical(rows)
        changed = _draft_fill(
            invoice,
            rows=rows,
            lines_text=lines_text,
            subject=ctx.subjects[subject.key],
            ctx=ctx,
        )
        if not changed:
            if invoice.review_flags != flags:
                written.kept.append(invoice)
        else:
            (updated if invoice.pk else new).append(invoice)
            lines[id(invoice)] = (invoice, rows, explanations)
        settled.append((invoice, [p.pk for p in corrections]))
    _invoices_insert(new)
    now = timezone.now()
    for invoice in updated:
        invoice.updated_at = now
    Invoice.objects.bulk_update(updated, DRAFT_FIELDS)
    Invoice.objects.bulk_update(written.kept, ["review_flags"])
    InvoiceLine.objects.filter(invoice__in=updated).delete()
    _rows_insert(
        InvoiceLine,
        [
            value
            for invoice, rows, _ in lines.values()
            for value in _line_values(invoice, rows)
        ],
        # The explanations were encoded for the content hash already.
        encoded={
            id(row["explanation"]): text
            for _, rows, explanations in lines.values()
            for row, text in zip(rows, explanations, strict=True)
        },
    )
    written.changed = [invoice.pk for invoice in new + updated]
    _settlements_write(settled)
    return written


def _settlements_write(settled) -> None:
    """Mark corrections settled on the draft carrying them, and only those (rule 9)."""
    now = timezone.now()
    carried = [pk for _, proposal_ids in settled for pk in proposal_ids]
    RecomputeProposal.objects.filter(
        settled_on_invoice__in=[invoice.pk for invoice, _ in settled]
    ).exclude(pk__in=carried).update(settled_on_invoice=None, updated_at=now)
    for invoice, proposal_ids in settled:
        if proposal_ids:
            RecomputeProposal.objects.filter(pk__in=proposal_ids).exclude(
                settled_on_invoice=invoice
            ).update(settled_on_invoice=invoice, updated_at=now)


def drafts_write(
    *, run: BillingRun, month: Month, subjects: list[SubjectDraft], drafts: list
) -> list[int]:
    """Refresh the subjects, then upsert `drafts`, pairs of (the subject's draft or
    None, its SubjectDraft); the ids of the drafts created or changed."""
    ctx = _context(run=run, month=month, subjects=subjects)
    return _drafts_write(ctx=ctx, drafts=drafts).changed
