"""Invoice lifecycle: numbers (rule 8, B08, B22), credit notes (B13), payments, voids,
recompute proposals and immutability. Every expected figure is worked out by hand."""

import datetime as dt
import subprocess
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import DatabaseError

from billing import pdf, selectors
from billing.models import (
    BillingSubject,
    Invoice,
    InvoiceLine,
    InvoiceLineOrder,
    IssuerProfile,
    NumberSequence,
    RecomputeProposal,
)
from billing.services import lifecycle
from billing.services.lifecycle import (
    CreditLine,
    credit_note_issue,
    invoice_finalise,
    invoice_finalise_many,
    invoice_mark_paid,
    invoice_number_format,
    invoice_render_retry,
    invoice_require_draft,
    invoice_void,
    proposal_accept,
    proposal_dismiss,
)
from billing.tasks import invoice_render_task
from portal.exceptions import BillingError, InvalidInput, ReplicaUnavailable
from portal.models import AuditEvent
from tests.billing.factories import (
    BillingRunFactory,
    InvoiceFactory,
    InvoiceLineFactory,
)
from tests.instances.factories import InstanceFactory
from tests.portal.factories import UserFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MAY = dt.date(2026, 5, 1)
# 2026-06-01 10:00 in London and 11:00 in Paris: the May invoices are finalised.
JUNE_FIRST = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def no_render(monkeypatch):
    """Record the renders queued after commit instead of drawing PDFs."""
    queued = []
    monkeypatch.setattr(invoice_render_task, "delay", queued.append)
    return queued


@pytest.fixture
def manager():
    return UserFactory(username="maria")


def instance(slug: str, **fields):
    defaults = {"time_zone": "Europe/London", "invoice_prefix": slug.upper()}
    return InstanceFactory(slug=slug, **{**defaults, **fields})


def draft(inst, subject: str, *amounts: str, tax_rate="0.20", **fields) -> Invoice:
    """A May draft of `subject` with one line per amount, totals worked out here.

    Tax is computed once on the net (rule 5): callers pass amounts whose totals they
    have checked by hand in their own comments.
    """
    run = BillingRunFactory(instance=inst, month=MAY)
    net = sum((Decimal(a) for a in amounts), Decimal("0"))
    tax = (net * Decimal(tax_rate)).quantize(Decimal("0.01"))
    invoice = InvoiceFactory(
        run=run,
        subject_key=f"owner:{subject}",
        subject_name=subject,
        tax_rate=tax_rate,
        net=net,
        tax=tax,
        gross=net + tax,
        **fields,
    )
    for position, amount in enumerate(amounts, 1):
        InvoiceLineFactory(
            invoice=invoice,
            position=position,
            enterprise_id=100 + position,
            enterprise_name=f"Shop {position}",
            amount=amount,
        )
    return invoice


def sequence(inst, last: int, year: int = 2026, series="invoice") -> NumberSequence:
    return NumberSequence.objects.create(
        instance=inst, series=series, year=year, last_number=last
    )


def last_number(inst, year: int = 2026, series="invoice") -> int:
    return NumberSequence.objects.get(
        instance=inst, series=series, year=year
    ).last_number


def pdf_text(path: str) -> str:
    text = subprocess.run(  # noqa: S603 - fixed tool, test-owned file
        ["/usr/bin/pdftotext", "-layout", "-enc", "UTF-8", path, "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


# Numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "series", "year", "number", "expected"),
    [
        ("UK", "invoice", 2026, 1, "UK-2026-0001"),
        ("UK", "invoice", 2026, 44, "UK-2026-0044"),
        ("FR", "credit_note", 2026, 1, "FR-CN-2026-0001"),
        ("KATUMA", "invoice", 2027, 12345, "KATUMA-2027-12345"),
    ],
    ids=["first", "padded", "credit-note", "past-9999"],
)
def test_invoice_number_format_follows_rule_8(prefix, series, year, number, expected):
    assert (
        invoice_number_format(prefix=prefix, series=series, year=year, number=number)
        == expected
    )


def test_invoice_finalise_numbers_one_series_per_instance(no_render, manager):
    # given B08: on 2026-06-01 the May drafts of UK A, FR B and UK C
    uk, fr = instance("uk"), instance("fr", time_zone="Europe/Paris")
    a, b, c = draft(uk, "A", "10.00"), draft(fr, "B", "10.00"), draft(uk, "C", "10.00")

    # when finalised in this order
    for invoice in (a, b, c):
        invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # then
    for invoice in (a, b, c):
        invoice.refresh_from_db()
    assert [a.number, b.number, c.number] == [
        "UK-2026-0001",
        "FR-2026-0001",
        "UK-2026-0002",
    ]
    assert {i.status for i in (a, b, c)} == {Invoice.Status.FINALISED}
    assert (a.issued_on, a.due_on) == (dt.date(2026, 6, 1), dt.date(2026, 7, 1))
    assert a.pdf_status == Invoice.PdfStatus.PENDING


def test_invoice_finalise_queues_the_render_only_after_commit(
    no_render, manager, django_capture_on_commit_callbacks
):
    # given
    invoice = draft(instance("uk"), "A", "10.00")

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
        queued_inside = list(no_render)
    for callback in callbacks:
        callback()

    # then
    assert queued_inside == []
    assert no_render == [invoice.pk]


def test_invoice_render_keeps_the_number_and_amounts(
    manager, django_capture_on_commit_callbacks
):
    # given B08: A finalised (10.01 + 5.02 = 15.03 net, 20 % tax 3.006 -> 3.01,
    # gross 18.04), rendered in process after the commit
    uk = instance("uk")
    a = draft(uk, "A", "10.01", "5.02")
    with django_capture_on_commit_callbacks(execute=True):
        invoice_finalise(invoice=a, actor=manager, as_of=JUNE_FIRST)
    a.refresh_from_db()
    first = a.pdf.name

    # when the template is fixed and the invoice rendered again for viewing
    invoice_render_task.delay(a.pk)
    a.refresh_from_db()

    # then: the same number and amounts, in a new file; the first file is kept
    assert a.pdf_status == Invoice.PdfStatus.RENDERED
    assert a.number == "UK-2026-0001"
    assert a.pdf.name != first
    for name in (first, a.pdf.name):
        text = pdf_text(a.pdf.storage.path(name))
        assert "Invoice number UK-2026-0001" in text
        assert "£15.03" in text
        assert "£3.01" in text
        assert "£18.04" in text


def test_credit_note_then_new_invoice_takes_the_next_number(no_render, manager):
    # given B08: UK A and C finalised as UK-2026-0001 and UK-2026-0002
    uk = instance("uk")
    a, c = draft(uk, "A", "10.00"), draft(uk, "C", "10.00")
    for invoice in (a, c):
        invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # when A's amounts must change: a credit note, then a new invoice for A
    note = credit_note_issue(
        invoice=a, actor=manager, reason="Wrong turnover", as_of=JUNE_FIRST
    )
    replacement = draft(uk, "A", "8.00")
    invoice_finalise(invoice=replacement, actor=manager, as_of=JUNE_FIRST)

    # then: nothing is renumbered
    a.refresh_from_db()
    replacement.refresh_from_db()
    assert note.number == "UK-CN-2026-0001"
    assert (a.number, a.status) == ("UK-2026-0001", Invoice.Status.CREDITED)
    assert replacement.number == "UK-2026-0003"


def test_invoice_finalise_failure_burns_no_number(
    monkeypatch, manager, django_capture_on_commit_callbacks
):
    # given B22: the last UK number is 0043; C's finalisation will fail inside its
    # transaction after taking a number (the database rejects its audit row)
    uk = instance("uk")
    sequence(uk, 43)
    c, d, e = draft(uk, "C", "10.00"), draft(uk, "D", "10.00"), draft(uk, "E", "10.00")
    record = lifecycle.audit_record
    taken = []

    def rejected(**row):
        taken.append(row["details"]["number"])
        raise DatabaseError("insert into portal_auditevent rejected")

    monkeypatch.setattr(lifecycle, "audit_record", rejected)
    monkeypatch.setattr(invoice_render_task, "delay", lambda invoice_id: None)

    # when C fails, D finalises, then C is retried
    with pytest.raises(DatabaseError):
        invoice_finalise(invoice=c, actor=manager, as_of=JUNE_FIRST)
    c.refresh_from_db()
    assert taken == ["UK-2026-0044"]
    assert (c.status, c.number, last_number(uk)) == (Invoice.Status.DRAFT, None, 43)
    monkeypatch.setattr(lifecycle, "audit_record", record)
    invoice_finalise(invoice=d, actor=manager, as_of=JUNE_FIRST)
    invoice_finalise(invoice=c, actor=manager, as_of=JUNE_FIRST)

    # and E finalises, then its PDF render fails after the commit
    monkeypatch.undo()

    def broken(*, invoice):
        raise OSError("disk full")

    monkeypatch.setattr(pdf, "invoice_pdf_bytes", broken)
    with django_capture_on_commit_callbacks(execute=True):
        invoice_finalise(invoice=e, actor=manager, as_of=JUNE_FIRST)

    # then
    for invoice in (c, d, e):
        invoice.refresh_from_db()
    assert d.number == "UK-2026-0044"
    assert c.number == "UK-2026-0045"
    assert (e.number, e.status) == ("UK-2026-0046", Invoice.Status.FINALISED)
    assert e.pdf_status == Invoice.PdfStatus.FAILED
    assert e.get_pdf_status_display() == "Render failed"
    assert "disk full" in e.pdf_error
    assert last_number(uk) == 46

    # when the render is retried with the disk fixed
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        invoice_render_retry(invoice=e, actor=manager)

    # then: rendered, same number, nothing lost or skipped
    e.refresh_from_db()
    assert (e.number, e.pdf_status) == ("UK-2026-0046", Invoice.PdfStatus.RENDERED)
    assert last_number(uk) == 46


@pytest.mark.parametrize(
    ("time_zone", "number", "issued_on", "due_on"),
    [
        # 2026-12-31T23:30Z is 2027-01-01 00:30 in Madrid (CET, UTC+1)
        ("Europe/Madrid", "ES-2027-0001", dt.date(2027, 1, 1), dt.date(2027, 1, 31)),
        # ... but still 2026-12-31 in London (GMT) and Toronto (EST, UTC-5)
        ("Europe/London", "ES-2026-0001", dt.date(2026, 12, 31), dt.date(2027, 1, 30)),
        (
            "America/Toronto",
            "ES-2026-0001",
            dt.date(2026, 12, 31),
            dt.date(2027, 1, 30),
        ),
    ],
    ids=["madrid-new-year", "london-old-year", "toronto-old-year"],
)
def test_invoice_finalise_takes_the_year_of_the_local_date(
    no_render, manager, time_zone, number, issued_on, due_on
):
    # given
    invoice = draft(instance("es", time_zone=time_zone), "A", "10.00")

    # when
    invoice_finalise(
        invoice=invoice,
        actor=manager,
        as_of=dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    )

    # then
    invoice.refresh_from_db()
    assert (invoice.number, invoice.issued_on, invoice.due_on) == (
        number,
        issued_on,
        due_on,
    )


def test_invoice_finalise_freezes_parties_and_payment_terms(no_render, manager):
    # given an issuer with 14-day terms and a subject whose details were edited
    uk = instance("uk")
    IssuerProfile.objects.create(
        instance=uk,
        legal_name="OFN UK CIC",
        address="1 Market St\nLeeds",
        tax_id="GB123456789",
        bank_details="Sort code 12-34-56",
        payment_terms_days=14,
    )
    subject = BillingSubject.objects.create(
        instance=uk,
        key="owner:A",
        invoice_name="Green Valley Ltd",
        address="2 Farm Lane",
        tax_id="GB987",
        email="accounts@greenvalley.example",
    )
    invoice = draft(uk, "A", "10.00")

    # when finalised, then the subject's details change
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    subject.invoice_name = "Renamed Ltd"
    subject.save()

    # then
    invoice.refresh_from_db()
    assert invoice.due_on == dt.date(2026, 6, 15)
    assert (invoice.subject_name, invoice.subject_address, invoice.subject_tax_id) == (
        "Green Valley Ltd",
        "2 Farm Lane",
        "GB987",
    )
    assert invoice.subject_email == "accounts@greenvalley.example"
    assert invoice.issuer == {
        "legal_name": "OFN UK CIC",
        "address": "1 Market St\nLeeds",
        "tax_id": "GB123456789",
        "email": "",
        "bank_details": "Sort code 12-34-56",
        "payment_terms_days": 14,
    }


def _orders_double(monkeypatch, orders_by_window):
    """Stand-in for selectors.line_orders (engine's replica read): one call each."""
    calls = []

    def line_orders(*, instance, line, limit=500):
        calls.append((line.pk, limit))
        rows = orders_by_window[line.explanation["window"]["shop"]]
        return rows if limit is None else rows[:limit]

    monkeypatch.setattr(selectors, "line_orders", line_orders, raising=False)
    return calls


def test_invoice_finalise_freezes_the_orders_behind_each_line(
    monkeypatch, no_render, manager
):
    # given a draft whose two lines for shop 101 share a window, and a trial line
    invoice = draft(instance("uk"), "A", "10.00", "5.00", "0.00")
    window = {"shop": 101, "start": "2026-04-30T23:00:00Z"}
    lines = list(invoice.lines.order_by("position"))
    for line in lines[:2]:
        line.explanation = {"window": window}
        line.save()
    orders = [
        SimpleNamespace(
            id=7001,
            number="R100",
            completed_at=dt.datetime(2026, 5, 3, 9, tzinfo=UTC),
            total=Decimal("120.50"),
        ),
        {
            "id": 7002,
            "number": "R101",
            "completed_at": dt.datetime(2026, 5, 9, 9, tzinfo=UTC),
            "total": Decimal("130.50"),
        },
    ]
    calls = _orders_double(monkeypatch, {101: orders})

    # when
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # then: one unbounded replica read for the shared window, two orders per line
    assert calls == [(lines[0].pk, None)]
    frozen = InvoiceLineOrder.objects.order_by("line__position", "order_id")
    assert [(o.line_id, o.order_id, o.number, o.total) for o in frozen] == [
        (lines[0].pk, 7001, "R100", Decimal("120.50")),
        (lines[0].pk, 7002, "R101", Decimal("130.50")),
        (lines[1].pk, 7001, "R100", Decimal("120.50")),
        (lines[1].pk, 7002, "R101", Decimal("130.50")),
    ]
    assert (
        AuditEvent.objects.get(action="invoice.finalised").details["orders_frozen"] == 4
    )


def test_invoice_finalise_with_the_replica_down_numbers_nothing(
    monkeypatch, no_render, manager
):
    # given
    uk = instance("uk")
    sequence(uk, 7)
    invoice = draft(uk, "A", "10.00")
    line = invoice.lines.get()
    line.explanation = {"window": {"shop": 101}}
    line.save()

    def down(*, instance, line, limit=500):
        raise ReplicaUnavailable("Instance uk: the replica refused the connection.")

    monkeypatch.setattr(selectors, "line_orders", down, raising=False)

    # when
    with pytest.raises(ReplicaUnavailable):
        invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # then
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, last_number(uk)) == ("draft", None, 7)


def test_invoice_finalise_refuses_a_draft_recomputed_while_its_orders_are_read(
    monkeypatch, no_render, manager
):
    # given a draft whose run is recomputed while its orders are read
    uk = instance("uk")
    invoice = draft(uk, "A", "10.00")
    line = invoice.lines.get()
    line.explanation = {"window": {"shop": 101}}
    line.save()

    def recomputed_meanwhile(*, instance, line, limit=500):
        Invoice.objects.filter(pk=invoice.pk).update(content_hash="f" * 64)
        return []

    monkeypatch.setattr(selectors, "line_orders", recomputed_meanwhile, raising=False)

    # when / then
    with pytest.raises(BillingError, match="was recomputed while it was being"):
        invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number, last_number(uk)) == ("draft", None, 0)


def test_invoice_finalise_many_goes_in_subject_order_and_reports_failures(
    no_render, manager
):
    # given three drafts, one of them finalised meanwhile by someone else
    uk = instance("uk")
    zed, ann, bob = (draft(uk, name, "10.00") for name in ("Zed", "Ann", "Bob"))
    stale_bob = Invoice.objects.get(pk=bob.pk)
    invoice_finalise(invoice=bob, actor=manager, as_of=JUNE_FIRST)

    # when
    outcome = invoice_finalise_many(
        invoices=[zed, stale_bob, ann], actor=manager, as_of=JUNE_FIRST
    )

    # then: Bob kept UK-2026-0001; Ann, then Zed
    assert [(i.subject_name, i.number) for i in outcome.finalised] == [
        ("Ann", "UK-2026-0002"),
        ("Zed", "UK-2026-0003"),
    ]
    assert [(i.subject_name, "finalised" in error) for i, error in outcome.failed] == [
        ("Bob", True)
    ]


# Immutability ---------------------------------------------------------------------


def test_invoice_finalise_refuses_to_change_a_finalised_invoice(no_render, manager):
    # given
    invoice = draft(instance("uk"), "A", "10.00")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    invoice.refresh_from_db()

    # when someone tries to finalise it again a year later (new number, new date)
    with pytest.raises(BillingError) as error:
        invoice_finalise(
            invoice=invoice,
            actor=manager,
            as_of=dt.datetime(2027, 6, 1, 9, tzinfo=UTC),
        )

    # then
    assert str(error.value) == (
        "Invoice UK-2026-0001 is Finalised: a finalised invoice never changes. "
        "Issue a credit note, or accept the difference as a correction on the next "
        "invoice."
    )
    invoice.refresh_from_db()
    assert (invoice.number, invoice.issued_on, invoice.gross) == (
        "UK-2026-0001",
        dt.date(2026, 6, 1),
        Decimal("12.00"),
    )
    assert not NumberSequence.objects.filter(year=2027).exists()


@pytest.mark.parametrize(
    "status", ["finalised", "sent", "paid", "void", "credited"], ids=str
)
def test_invoice_require_draft_refuses_every_state_but_draft(status):
    # given
    invoice = InvoiceFactory(status=status, number="UK-2026-0009")

    # when / then
    with pytest.raises(BillingError, match="UK-2026-0009 is .*: a finalised invoice"):
        invoice_require_draft(invoice)


def test_invoice_require_draft_lets_a_draft_change():
    invoice_require_draft(InvoiceFactory())


# Credit notes ---------------------------------------------------------------------


def test_credit_note_issue_mirrors_the_invoice_exactly(no_render, manager):
    # given B13: 2.5 % of 2,413.00 = 60.325 -> 60.33 (half away from zero); 20 % VAT
    # on 60.33 = 12.066 -> 12.07; gross 72.40
    uk = instance("uk")
    invoice = draft(
        uk, "A", "60.33", tax_breakdown={"0.2000": {"net": "60.33", "tax": "12.07"}}
    )
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # when
    note = credit_note_issue(
        invoice=invoice, actor=manager, reason="Late cancellation", as_of=JUNE_FIRST
    )

    # then
    invoice.refresh_from_db()
    assert (note.net, note.tax, note.gross) == (
        Decimal("-60.33"),
        Decimal("-12.07"),
        Decimal("-72.40"),
    )
    assert list(note.lines.values_list("amount", flat=True)) == [Decimal("-60.33")]
    assert invoice.gross + note.gross == Decimal("0.00")
    assert invoice.net + note.net == Decimal("0.00")
    assert note.tax_breakdown == {"0.2000": {"net": "-60.33", "tax": "-12.07"}}
    assert (note.kind, note.credited_invoice, note.status) == (
        Invoice.Kind.CREDIT_NOTE,
        invoice,
        Invoice.Status.FINALISED,
    )
    assert (note.number, note.issued_on) == ("UK-CN-2026-0001", dt.date(2026, 6, 1))
    assert invoice.status == Invoice.Status.CREDITED


def test_credit_note_issue_in_parts_credits_once_fully_given_back(no_render, manager):
    # given an invoice of 10.01 (shop 101) + 5.02 (shop 102) = 15.03, tax 3.01
    invoice = draft(instance("uk"), "A", "10.01", "5.02")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # when shop 101 is credited, then shop 102
    first = credit_note_issue(
        invoice=invoice,
        actor=manager,
        reason="Shop 101 closed",
        lines=[CreditLine(enterprise_id=101, amount=Decimal("10.01"))],
        as_of=JUNE_FIRST,
    )
    invoice.refresh_from_db()
    status_between = invoice.status
    second = credit_note_issue(
        invoice=invoice,
        actor=manager,
        reason="Shop 102 closed",
        lines=[CreditLine(enterprise_id=102, amount=Decimal("5.02"))],
        as_of=JUNE_FIRST,
    )

    # then: 20 % of -10.01 = -2.002 -> -2.00; of -5.02 = -1.004 -> -1.00
    invoice.refresh_from_db()
    assert (first.net, first.tax, first.gross) == (
        Decimal("-10.01"),
        Decimal("-2.00"),
        Decimal("-12.01"),
    )
    assert (second.net, second.tax, second.gross) == (
        Decimal("-5.02"),
        Decimal("-1.00"),
        Decimal("-6.02"),
    )
    assert [first.number, second.number] == ["UK-CN-2026-0001", "UK-CN-2026-0002"]
    assert status_between == Invoice.Status.FINALISED
    assert invoice.status == Invoice.Status.CREDITED


def test_credit_note_issue_in_part_rounds_a_tax_tie_away_from_zero(no_render, manager):
    # given an ES invoice at 21 %: 0.50 (shop 101) + 9.50 (shop 102) = 10.00 net
    es = instance("es", time_zone="Europe/Madrid", currency="EUR")
    invoice = draft(es, "A", "0.50", "9.50", tax_rate="0.21")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # when shop 101's 0.50 is credited
    note = credit_note_issue(
        invoice=invoice,
        actor=manager,
        reason="Shop 101 refunded",
        lines=[CreditLine(enterprise_id=101, amount=Decimal("0.50"))],
    )

    # then 21 % of -0.50 = -0.105, a tie: -0.11 (as 0.105 -> 0.11), never -0.10
    assert (note.net, note.tax, note.gross) == (
        Decimal("-0.50"),
        Decimal("-0.11"),
        Decimal("-0.61"),
    )
    assert note.tax_breakdown == {"0.2100": {"net": "-0.50", "tax": "-0.11"}}


@pytest.mark.parametrize(
    ("credit", "message"),
    [
        (CreditLine(enterprise_id=101, amount=Decimal("10.02")), "between 0 and 10.01"),
        (CreditLine(enterprise_id=101, amount=Decimal("0")), "between 0 and 10.01"),
        (CreditLine(enterprise_id=999, amount=Decimal("1")), "Shop 999 has no line"),
    ],
    ids=["more-than-charged", "nothing", "unknown-shop"],
)
def test_credit_note_issue_refuses_impossible_credits(
    no_render, manager, credit, message
):
    # given
    uk = instance("uk")
    invoice = draft(uk, "A", "10.01")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # when / then: no credit note and no credit-note number taken
    with pytest.raises(BillingError, match=message):
        credit_note_issue(invoice=invoice, actor=manager, reason="x", lines=[credit])
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()
    assert last_number(uk, series="credit_note") == 0


def test_credit_note_issue_refuses_a_draft(manager):
    with pytest.raises(BillingError, match="is draft: it cannot be credited"):
        credit_note_issue(invoice=InvoiceFactory(), actor=manager, reason="x")


# Payments and voids ---------------------------------------------------------------


def test_invoice_mark_paid_records_date_and_reference(no_render, manager):
    # given
    invoice = draft(instance("uk"), "A", "10.00")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # when
    invoice_mark_paid(
        invoice=invoice,
        actor=manager,
        paid_on=dt.date(2026, 6, 20),
        reference=" BACS 889 ",
    )

    # then
    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_on, invoice.payment_reference) == (
        Invoice.Status.PAID,
        dt.date(2026, 6, 20),
        "BACS 889",
    )
    event = AuditEvent.objects.get(action="invoice.paid")
    assert (event.actor, event.details) == (
        manager,
        {"paid_on": "2026-06-20", "reference": "BACS 889"},
    )


def test_invoice_mark_paid_refuses_a_draft_and_a_missing_reference(manager):
    invoice = InvoiceFactory()
    with pytest.raises(InvalidInput, match="reference"):
        invoice_mark_paid(
            invoice=invoice, actor=manager, paid_on=dt.date(2026, 6, 1), reference=""
        )
    with pytest.raises(BillingError, match="is draft: it cannot be marked paid"):
        invoice_mark_paid(
            invoice=invoice, actor=manager, paid_on=dt.date(2026, 6, 1), reference="1"
        )


def test_invoice_void_keeps_the_number_and_the_reason(no_render, manager):
    # given
    invoice = draft(instance("uk"), "A", "10.00")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # when
    invoice_void(invoice=invoice, actor=manager, reason="Shop closed in April")

    # then
    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == (Invoice.Status.VOID, "UK-2026-0001")
    event = AuditEvent.objects.get(action="invoice.voided")
    assert (event.actor_label, event.reason) == ("maria", "Shop closed in April")


def test_invoice_void_needs_a_reason(manager):
    with pytest.raises(InvalidInput, match="Say why"):
        invoice_void(invoice=InvoiceFactory(), actor=manager, reason="  ")


def test_invoice_void_refuses_a_sent_invoice(manager):
    # given
    invoice = InvoiceFactory(status=Invoice.Status.SENT, number="UK-2026-0003")

    # when / then
    with pytest.raises(BillingError, match="was sent: it cannot be voided"):
        invoice_void(invoice=invoice, actor=manager, reason="Wrong")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT


# Recompute proposals --------------------------------------------------------------


def proposal(invoice, invoiced: str, recomputed: str) -> RecomputeProposal:
    return RecomputeProposal.objects.create(
        run=invoice.run,
        invoice=invoice,
        enterprise_id=101,
        enterprise_name="Shop 1",
        invoiced_amount=Decimal(invoiced),
        recomputed_amount=Decimal(recomputed),
        difference=Decimal(recomputed) - Decimal(invoiced),
        reason="Order R100 cancelled after finalisation",
    )


def test_proposal_accept_as_credit_note_credits_the_difference(no_render, manager):
    # given shop 101 invoiced 60.33, recomputed 50.33 after a late cancellation
    invoice = draft(instance("uk"), "A", "60.33")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    open_proposal = proposal(invoice, "60.33", "50.33")

    # when
    decided = proposal_accept(
        proposal=open_proposal, actor=manager, as_="credit_note", as_of=JUNE_FIRST
    )

    # then: -10.00 net, 20 % tax -2.00, gross -12.00; the invoice stays as it was
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    invoice.refresh_from_db()
    assert (note.number, note.net, note.tax, note.gross) == (
        "UK-CN-2026-0001",
        Decimal("-10.00"),
        Decimal("-2.00"),
        Decimal("-12.00"),
    )
    assert note.lines.get().enterprise_id == 101
    assert (invoice.status, invoice.gross) == (
        Invoice.Status.FINALISED,
        Decimal("72.40"),
    )
    assert (decided.status, decided.decided_by) == (
        RecomputeProposal.Status.CREDIT_NOTE,
        manager,
    )


def test_proposal_accept_refuses_a_credit_note_for_an_undercharge(no_render, manager):
    # given the recompute charges 5.00 more
    invoice = draft(instance("uk"), "A", "10.00")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    open_proposal = proposal(invoice, "10.00", "15.00")

    # when / then
    with pytest.raises(BillingError, match="Accept it as a correction instead"):
        proposal_accept(proposal=open_proposal, actor=manager, as_="credit_note")
    open_proposal.refresh_from_db()
    assert open_proposal.status == RecomputeProposal.Status.PROPOSED


def test_proposal_accept_as_correction_leaves_it_to_the_next_draft(no_render, manager):
    # given
    invoice = draft(instance("uk"), "A", "10.00")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    open_proposal = proposal(invoice, "10.00", "15.00")

    # when
    decided = proposal_accept(proposal=open_proposal, actor=manager, as_="correction")

    # then
    assert decided.status == RecomputeProposal.Status.CORRECTION
    assert not Invoice.objects.filter(kind=Invoice.Kind.CREDIT_NOTE).exists()
    with pytest.raises(BillingError, match="already decided"):
        proposal_dismiss(proposal=open_proposal, actor=manager, reason="late")


def test_proposal_dismiss_needs_a_reason_and_records_it(no_render, manager):
    # given
    invoice = draft(instance("uk"), "A", "10.00")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    open_proposal = proposal(invoice, "10.00", "9.99")

    # when
    with pytest.raises(InvalidInput):
        proposal_dismiss(proposal=open_proposal, actor=manager, reason="")
    proposal_dismiss(proposal=open_proposal, actor=manager, reason="One penny")

    # then
    open_proposal.refresh_from_db()
    assert open_proposal.status == RecomputeProposal.Status.DISMISSED
    assert AuditEvent.objects.get(action="recompute_proposal.dismissed").reason == (
        "One penny"
    )


def test_invoice_lines_of_a_credit_note_point_at_the_invoice(no_render, manager):
    # given
    invoice = draft(instance("uk"), "A", "10.01", "5.02")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    # when
    note = credit_note_issue(invoice=invoice, actor=manager, reason="Wrong plan")

    # then
    assert list(
        note.lines.order_by("position").values_list(
            "position", "enterprise_id", "component", "amount", "corrects_invoice"
        )
    ) == [
        (1, 101, InvoiceLine.Component.CREDIT, Decimal("-10.01"), invoice.pk),
        (2, 102, InvoiceLine.Component.CREDIT, Decimal("-5.02"), invoice.pk),
    ]


def test_transitions_record_who_and_why(no_render, manager):
    # given
    invoice = draft(instance("uk"), "A", "10.00")

    # when
    invoice_finalise(
        invoice=invoice, actor=manager, reason="Reviewed", as_of=JUNE_FIRST
    )
    credit_note_issue(invoice=invoice, actor=manager, reason="Duplicate shop")

    # then
    events = AuditEvent.objects.filter(object_id=str(invoice.pk)).order_by("id")
    assert [(e.action, e.actor_label, e.reason) for e in events] == [
        ("invoice.finalised", "maria", "Reviewed"),
        ("invoice.credited", "maria", "Duplicate shop"),
    ]
