"""The review pages: run page actions, the invoice page, a line's orders, and who may
see and do what (M07). Query counts are asserted: no table queries per row."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from billing import selectors
from billing.models import Invoice, InvoiceLineOrder, RecomputeProposal
from billing.services.lifecycle import invoice_finalise
from billing.tasks import invoice_render_task
from portal.models import AuditEvent
from tests.billing.factories import (
    BillingRunFactory,
    InvoiceFactory,
    InvoiceLineFactory,
)
from tests.instances.factories import InstanceFactory
from tests.portal.factories import AdminFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
MAY = dt.date(2026, 5, 1)
JUNE_FIRST = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_render(monkeypatch):
    queued = []
    monkeypatch.setattr(invoice_render_task, "delay", queued.append)
    return queued


@pytest.fixture
def uk():
    return InstanceFactory(slug="uk", invoice_prefix="UK")


@pytest.fixture
def manager(uk):
    return MembershipFactory(user=UserFactory(username="maria"), instance=uk).user


def draft(instance, name: str, *amounts: str, shop_ids=None, **fields) -> Invoice:
    run = BillingRunFactory(instance=instance, month=MAY)
    invoice = InvoiceFactory(
        run=run, subject_key=f"owner:{name}", subject_name=name, **fields
    )
    for position, amount in enumerate(amounts, 1):
        shop_id = shop_ids[position - 1] if shop_ids else 100 + position
        InvoiceLineFactory(
            invoice=invoice,
            position=position,
            enterprise_id=shop_id,
            enterprise_name=f"Shop {shop_id}",
            amount=amount,
            rule=f"Rule of line {position}.",
        )
    return invoice


def run_url(slug="uk", month="2026-05") -> str:
    return reverse("billing:run", kwargs={"slug": slug, "month": month})


def invoice_url(invoice, name="invoice", **kwargs) -> str:
    return reverse(
        f"billing:{name}",
        kwargs={"slug": invoice.instance.slug, "pk": invoice.pk, **kwargs},
    )


def texts(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# Run page -------------------------------------------------------------------------


def test_run_page_offers_drafts_for_finalisation_and_shows_moved_ones(
    client, uk, manager
):
    # given a flagged draft and a finalised invoice
    moved = draft(
        uk,
        "Ann",
        "10.00",
        review_flags=["More orders: 40 against 12", {"text": "Tier change: 2 -> 3"}],
    )
    done = draft(uk, "Bob", "10.00")
    invoice_finalise(invoice=done, actor=manager, as_of=JUNE_FIRST)
    client.force_login(manager)

    # when
    page = client.get(run_url()).content.decode()

    # then: one checkbox, for the draft; the number; the badge and its reasons
    assert page.count('data-test="select-invoice"') == 1
    assert f'name="invoices" value="{moved.pk}" form="run-finalise"' in page
    assert 'data-test="finalise-selected"' in page
    assert "Finalise all drafts (1)" in page
    assert "UK-2026-0001" in page
    assert page.count('data-test="moved-badge"') == 1
    assert "<li>More orders: 40 against 12</li><li>Tier change: 2 -&gt; 3</li>" in page


def test_run_page_finalises_the_selected_drafts(client, uk, manager):
    # given three drafts
    ann, bob, cid = (draft(uk, name, "10.00") for name in ("Ann", "Bob", "Cid"))
    client.force_login(manager)

    # when Cid and Ann are ticked
    response = client.post(
        reverse("billing:run-finalise", kwargs={"slug": "uk", "month": "2026-05"}),
        {"scope": "selected", "invoices": [cid.pk, ann.pk]},
        follow=True,
    )

    # then: in subject order; Bob stays a draft
    numbers = dict(Invoice.objects.values_list("subject_name", "number"))
    assert numbers == {"Ann": "UK-2026-0001", "Bob": None, "Cid": "UK-2026-0002"}
    assert texts(response) == ["Finalised 2 invoices: UK-2026-0001, UK-2026-0002."]
    assert response.redirect_chain == [(run_url(), 302)]
    bob.refresh_from_db()
    assert bob.status == Invoice.Status.DRAFT


def test_run_page_finalises_all_drafts(client, uk, manager):
    # given
    for name in ("Cid", "Ann", "Bob"):
        draft(uk, name, "10.00")
    client.force_login(manager)

    # when
    client.post(
        reverse("billing:run-finalise", kwargs={"slug": "uk", "month": "2026-05"}),
        {"scope": "all"},
    )

    # then
    assert list(
        Invoice.objects.order_by("number").values_list("subject_name", "number")
    ) == [("Ann", "UK-2026-0001"), ("Bob", "UK-2026-0002"), ("Cid", "UK-2026-0003")]


def test_run_page_refuses_an_empty_selection(client, uk, manager):
    # given
    draft(uk, "Ann", "10.00")
    client.force_login(manager)

    # when
    response = client.post(
        reverse("billing:run-finalise", kwargs={"slug": "uk", "month": "2026-05"}),
        {"scope": "selected"},
        follow=True,
    )

    # then
    assert texts(response) == ["Tick at least one draft to finalise."]
    assert not Invoice.objects.exclude(number=None).exists()


def test_run_page_lists_open_proposals_and_accepts_one(client, uk, manager):
    # given a finalised invoice whose shop 101 was recomputed 10.00 lower
    invoice = draft(uk, "Ann", "60.33")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    proposal = RecomputeProposal.objects.create(
        run=invoice.run,
        invoice=invoice,
        enterprise_id=101,
        enterprise_name="Shop 101",
        invoiced_amount=Decimal("60.33"),
        recomputed_amount=Decimal("50.33"),
        difference=Decimal("-10.00"),
        reason="Order R100 cancelled",
    )
    client.force_login(manager)

    # when
    page = client.get(run_url()).content.decode()
    response = client.post(
        reverse("billing:proposal-accept", kwargs={"slug": "uk", "pk": proposal.pk}),
        {"as_": "credit_note"},
        follow=True,
    )

    # then
    assert page.count('data-test="proposal-row"') == 1
    assert '<td class="numeric" data-test="proposal-difference">-£10.00</td>' in page
    for button in ("accept-credit-note", "accept-correction", "dismiss"):
        assert f'data-test="{button}"' in page
    proposal.refresh_from_db()
    assert proposal.status == RecomputeProposal.Status.CREDIT_NOTE
    assert texts(response) == ["Shop 101: accepted as a credit note."]
    assert 'data-test="proposal-row"' not in response.content.decode()


def test_run_page_dismisses_a_proposal_with_its_reason(client, uk, manager):
    # given
    invoice = draft(uk, "Ann", "10.00")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    proposal = RecomputeProposal.objects.create(
        run=invoice.run,
        invoice=invoice,
        enterprise_id=101,
        enterprise_name="Shop 101",
        invoiced_amount=Decimal("10.00"),
        recomputed_amount=Decimal("9.99"),
        difference=Decimal("-0.01"),
    )
    client.force_login(manager)
    url = reverse("billing:proposal-dismiss", kwargs={"slug": "uk", "pk": proposal.pk})

    # when
    without = client.post(url, {"reason": ""}, follow=True)
    client.post(url, {"reason": "A penny"})

    # then
    assert texts(without) == ["This field is required."]
    proposal.refresh_from_db()
    assert proposal.status == RecomputeProposal.Status.DISMISSED


def test_run_page_query_count_does_not_grow_with_invoices(
    client, uk, manager, django_assert_num_queries
):
    # given 12 invoices, flagged, two finalised, with an open proposal
    invoices = [
        draft(uk, f"S{n:02d}", "1.00", "2.00", review_flags=["More orders"])
        for n in range(12)
    ]
    for invoice in invoices[:2]:
        invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    RecomputeProposal.objects.create(
        run=invoices[0].run,
        invoice=invoices[0],
        enterprise_id=101,
        enterprise_name="Shop 101",
        invoiced_amount=Decimal("1.00"),
        recomputed_amount=Decimal("0.50"),
        difference=Decimal("-0.50"),
    )
    client.force_login(manager)

    # when / then: session, user, instance, run with totals, invoice count, open
    # proposals, the user's role, one page of invoices, and the send slot's two
    # (send counts, delivery counts); the exports slot asks nothing
    with django_assert_num_queries(10):
        response = client.get(run_url())
    assert response.content.count(b'data-test="invoice-row"') == 12


# Invoice page ---------------------------------------------------------------------


def test_invoice_page_shows_header_lines_per_shop_and_totals(client, uk, manager):
    # given shop 101 with two lines (10.01 + 5.02) and shop 102 with one (2.00):
    # net 17.03, tax 20 % 3.406 -> 3.41, gross 20.44
    invoice = draft(
        uk,
        "Green Valley",
        "10.01",
        "5.02",
        "2.00",
        shop_ids=[101, 101, 102],
        net="17.03",
        tax="3.41",
        gross="20.44",
        tax_breakdown={"0.2000": {"net": "17.03", "tax": "3.41"}},
    )
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    client.force_login(manager)

    # when
    response = client.get(invoice_url(invoice))
    page = response.content.decode()

    # then
    assert '<dd data-test="invoice-number">UK-2026-0001</dd>' in page
    assert '<dd data-test="invoice-issued-on">2026-06-01</dd>' in page
    assert '<dd data-test="invoice-due-on">2026-07-01</dd>' in page
    assert [(s.name, s.total) for s in response.context["shops"]] == [
        ("Shop 101", Decimal("15.03")),
        ("Shop 102", Decimal("2.00")),
    ]
    assert page.count('data-test="invoice-line"') == 3
    assert page.count('data-test="line-orders-link"') == 3
    assert "Rule of line 2." in page
    assert "<td>20 %</td>" in page
    assert 'data-test="invoice-net">£17.03<' in page
    assert 'data-test="invoice-tax">£3.41<' in page
    assert 'data-test="invoice-gross"><strong>£20.44</strong>' in page


def test_invoice_page_offers_the_actions_of_its_state(client, uk, manager):
    # given
    invoice = draft(uk, "Ann", "10.00")
    client.force_login(manager)

    # when
    as_draft = client.get(invoice_url(invoice)).content.decode()
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    as_finalised = client.get(invoice_url(invoice)).content.decode()

    # then
    actions = ("finalise-form", "mark-paid-form", "void-form", "credit-note-form")
    assert [f'data-test="{a}"' in as_draft for a in actions] == [
        True,
        False,
        True,
        False,
    ]
    assert [f'data-test="{a}"' in as_finalised for a in actions] == [
        False,
        True,
        True,
        True,
    ]


def test_invoice_page_finalises_marks_paid_and_shows_the_history(client, uk, manager):
    # given
    invoice = draft(uk, "Ann", "10.00")
    client.force_login(manager)

    # when
    finalised = client.post(invoice_url(invoice, "invoice-finalise"), follow=True)
    invoice.refresh_from_db()
    paid = client.post(
        invoice_url(invoice, "invoice-mark-paid"),
        {"paid_on": "2026-06-20", "reference": "BACS 889"},
        follow=True,
    )

    # then
    assert texts(finalised) == [
        f"Finalised as {invoice.number}; its PDF is being rendered."
    ]
    assert texts(paid) == [f"{invoice.number} marked paid on 2026-06-20."]
    history = [
        (row["event"].actor_label, row["label"], row["event"].reason)
        for row in paid.context["history"]
    ]
    assert history == [("maria", "Finalised", ""), ("maria", "Marked paid", "")]
    page = paid.content.decode()
    assert page.count('data-test="history-row"') == 2
    assert "paid on: 2026-06-20, reference: BACS 889" in page


def test_invoice_page_voids_with_a_reason_and_credits_a_sent_invoice(
    client, uk, manager
):
    # given a finalised invoice, then marked sent by the sending service
    invoice = draft(uk, "Ann", "10.00")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.SENT)
    client.force_login(manager)

    # when
    void = client.post(
        invoice_url(invoice, "invoice-void"), {"reason": "Wrong"}, follow=True
    )
    credit = client.post(
        invoice_url(invoice, "invoice-credit-note"),
        {"reason": "Shop closed"},
        follow=True,
    )

    # then
    assert texts(void) == [
        "Invoice UK-2026-0001 was sent: it cannot be voided. Issue a credit note "
        "instead."
    ]
    assert texts(credit) == ["Credit note UK-CN-2026-0001 issued for UK-2026-0001."]
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert credit.redirect_chain == [(invoice_url(note), 302)]
    assert "Credit note UK-CN-2026-0001" in credit.content.decode()
    assert AuditEvent.objects.get(action="invoice.credited").reason == "Shop closed"


def test_invoice_page_shows_a_failed_render_and_retries_it(client, uk, manager):
    # given
    invoice = draft(uk, "Ann", "10.00")
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    Invoice.objects.filter(pk=invoice.pk).update(
        pdf_status=Invoice.PdfStatus.FAILED, pdf_error="OSError: disk full"
    )
    client.force_login(manager)

    # when
    page = client.get(invoice_url(invoice)).content.decode()
    client.post(invoice_url(invoice, "invoice-render-retry"))

    # then
    assert 'data-test="render-failed"' in page
    assert ">Render failed<" in page
    assert "UK-2026-0001" in page
    invoice.refresh_from_db()
    assert invoice.pdf_status == Invoice.PdfStatus.PENDING


@pytest.mark.parametrize("lines", [1, 10], ids=["one-line", "ten-lines"])
def test_invoice_page_query_count_does_not_grow_with_lines(
    client, uk, manager, django_assert_num_queries, lines
):
    # given
    invoice = draft(uk, "Ann", *["1.00"] * lines, shop_ids=list(range(lines)))
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)
    client.force_login(manager)

    # when / then: session, user, instance, invoice, lines, credit notes, the
    # user's role (asked again by the send slot, answered from memory), history,
    # the send log of the deliveries slot
    with django_assert_num_queries(9):
        response = client.get(invoice_url(invoice))
    assert response.content.count(b'data-test="invoice-line"') == lines


# Line orders ----------------------------------------------------------------------


def _orders(count: int) -> list:
    return [
        SimpleNamespace(
            id=9000 + n,
            number=f"R{n:04d}",
            completed_at=dt.datetime(2026, 5, 2, 23, 30, tzinfo=UTC),
            total=Decimal("12.34"),
        )
        for n in range(count)
    ]


def _line_with_window(invoice, order_count: int):
    line = invoice.lines.get()
    line.explanation = {"window": {"shop": 101}}
    line.order_count = order_count
    line.save()
    return line


def test_line_orders_page_reads_a_draft_from_the_replica_bounded(
    client, uk, manager, monkeypatch
):
    # given a draft line with 1,200 orders; the replica answers its first 500
    invoice = draft(uk, "Ann", "10.00")
    line = _line_with_window(invoice, 1200)
    calls = []

    def line_orders(*, instance, line, limit=500):
        calls.append(limit)
        return _orders(limit)

    monkeypatch.setattr(selectors, "line_orders", line_orders, raising=False)
    client.force_login(manager)

    # when
    page = client.get(
        invoice_url(invoice, "invoice-line-orders", line_pk=line.pk)
    ).content.decode()

    # then: one bounded read; times in London (BST): 23:30Z is 00:30 next day
    assert calls == [500]
    assert page.count('data-test="line-order-row"') == 500
    assert "showing the first 500 of 1200" in page
    assert "2026-05-03 00:30" in page
    assert "£12.34" in page


def test_line_orders_page_shows_all_orders_of_a_small_draft_line(
    client, uk, manager, monkeypatch
):
    # given
    invoice = draft(uk, "Ann", "10.00")
    line = _line_with_window(invoice, 3)
    monkeypatch.setattr(
        selectors,
        "line_orders",
        lambda *, instance, line, limit=500: _orders(3),
        raising=False,
    )
    client.force_login(manager)

    # when
    page = client.get(
        invoice_url(invoice, "invoice-line-orders", line_pk=line.pk)
    ).content.decode()

    # then
    assert page.count('data-test="line-order-row"') == 3
    assert "showing the first" not in page


def test_line_orders_page_shows_the_frozen_orders_once_finalised(
    client, uk, manager, monkeypatch, django_assert_num_queries
):
    # given a line finalised with 2 orders, after which the replica changed
    invoice = draft(uk, "Ann", "10.00")
    line = _line_with_window(invoice, 2)
    monkeypatch.setattr(
        selectors,
        "line_orders",
        lambda *, instance, line, limit=500: _orders(2),
        raising=False,
    )
    invoice_finalise(invoice=invoice, actor=manager, as_of=JUNE_FIRST)

    def replica_must_not_be_read(**kwargs):
        raise AssertionError("a finalised line is read from the portal")

    monkeypatch.setattr(selectors, "line_orders", replica_must_not_be_read)
    client.force_login(manager)
    url = invoice_url(invoice, "invoice-line-orders", line_pk=line.pk)

    # when / then: session, user, instance, line with invoice, count, one page
    with django_assert_num_queries(6):
        page = client.get(url).content.decode()
    assert InvoiceLineOrder.objects.filter(line=line).count() == 2
    assert page.count('data-test="line-order-row"') == 2
    assert "R0000" in page
    assert "R0001" in page
    assert "Frozen when the invoice was finalised on 2026-06-01" in page


# Who may see and do what ----------------------------------------------------------


def _every_new_url(invoice) -> list[tuple[str, str, dict]]:
    line = invoice.lines.get()
    slug = invoice.instance.slug
    proposal = RecomputeProposal.objects.get(invoice=invoice)
    return [
        ("get", invoice_url(invoice), {}),
        ("get", invoice_url(invoice, "invoice-line-orders", line_pk=line.pk), {}),
        ("post", invoice_url(invoice, "invoice-finalise"), {}),
        (
            "post",
            invoice_url(invoice, "invoice-mark-paid"),
            {"paid_on": "2026-06-02", "reference": "x"},
        ),
        ("post", invoice_url(invoice, "invoice-void"), {"reason": "x"}),
        ("post", invoice_url(invoice, "invoice-credit-note"), {"reason": "x"}),
        ("post", invoice_url(invoice, "invoice-render-retry"), {}),
        (
            "post",
            reverse("billing:run-finalise", kwargs={"slug": slug, "month": "2026-05"}),
            {"scope": "all"},
        ),
        (
            "post",
            reverse(
                "billing:proposal-accept", kwargs={"slug": slug, "pk": proposal.pk}
            ),
            {"as_": "correction"},
        ),
        (
            "post",
            reverse(
                "billing:proposal-dismiss", kwargs={"slug": slug, "pk": proposal.pk}
            ),
            {"reason": "x"},
        ),
    ]


@pytest.fixture
def uk_invoice_with_proposal(uk):
    invoice = draft(uk, "Ann", "10.00")
    RecomputeProposal.objects.create(
        run=invoice.run,
        invoice=invoice,
        enterprise_id=101,
        enterprise_name="Shop 101",
        invoiced_amount=Decimal("10.00"),
        recomputed_amount=Decimal("9.00"),
        difference=Decimal("-1.00"),
    )
    return invoice


def test_every_new_page_and_action_is_404_for_another_instances_manager(
    client, uk_invoice_with_proposal
):
    # given ana manages ES only
    ana = MembershipFactory(instance=InstanceFactory(slug="es")).user
    client.force_login(ana)

    # when
    statuses = [
        getattr(client, method)(url, data).status_code
        for method, url, data in _every_new_url(uk_invoice_with_proposal)
    ]

    # then: nothing leaks, nothing changes
    assert statuses == [404] * 10
    invoice = Invoice.objects.get(pk=uk_invoice_with_proposal.pk)
    assert (invoice.status, invoice.number) == (Invoice.Status.DRAFT, None)
    assert RecomputeProposal.objects.get().status == "proposed"


def test_every_new_page_and_action_is_404_for_es_ids_under_the_es_slug(
    client, uk_invoice_with_proposal
):
    # given ana manages ES and asks for UK's ids under her own instance's address
    es = InstanceFactory(slug="es")
    BillingRunFactory(instance=es, month=MAY)
    client.force_login(MembershipFactory(instance=es).user)
    urls = [
        (method, url.replace("/instances/uk/", "/instances/es/"), data)
        for method, url, data in _every_new_url(uk_invoice_with_proposal)
    ]

    # when
    statuses = [getattr(client, m)(url, data).status_code for m, url, data in urls]

    # then: ES's own run has no draft to finalise; every UK id is unknown in ES
    assert statuses == [404] * 7 + [302] + [404] * 2
    assert Invoice.objects.get(pk=uk_invoice_with_proposal.pk).number is None


def test_an_accountant_reads_and_records_payments_but_does_not_finalise(client, uk):
    # given
    invoice = draft(uk, "Ann", "10.00")
    accountant = MembershipFactory(instance=uk, role="accountant").user
    client.force_login(accountant)

    # when
    page = client.get(invoice_url(invoice)).content.decode()
    refused = client.post(invoice_url(invoice, "invoice-finalise"))
    run_refused = client.post(
        reverse("billing:run-finalise", kwargs={"slug": "uk", "month": "2026-05"}),
        {"scope": "all"},
    )
    invoice_finalise(
        invoice=invoice, actor=AdminFactory(username="root"), as_of=JUNE_FIRST
    )
    paid = client.post(
        invoice_url(invoice, "invoice-mark-paid"),
        {"paid_on": "2026-06-02", "reference": "BACS 1"},
    )

    # then
    assert 'data-test="finalise-form"' not in page
    assert (refused.status_code, run_refused.status_code) == (403, 403)
    assert paid.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_actions_need_post_and_a_csrf_token(uk, manager):
    # given a client that checks CSRF tokens like a browser session
    invoice = draft(uk, "Ann", "10.00")
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)

    # when
    get = client.get(invoice_url(invoice, "invoice-finalise"))
    post = client.post(invoice_url(invoice, "invoice-finalise"))

    # then
    assert (get.status_code, post.status_code) == (405, 403)
    invoice.refresh_from_db()
    assert invoice.number is None


# From the replica to the frozen orders --------------------------------------------


def _shop_with_orders(replica, count: int) -> None:
    """Shop 12 of owner 12, with `count` complete orders of 10.00 in May 2026."""
    writer = replica.writer
    writer.user(12, "shop12@example.org", dt.datetime(2024, 1, 1, tzinfo=UTC))
    writer.enterprise(
        12, owner_id=12, sells="any", created_at=dt.datetime(2024, 1, 1, tzinfo=UTC)
    )
    writer.insert_many(
        "spree_orders",
        [
            writer.order_row(
                5000 + n,
                distributor_id=12,
                state="complete",
                completed_at=dt.datetime(2026, 5, 10, 8, 0, tzinfo=UTC)
                + dt.timedelta(minutes=n),
                total="10.00",
            )
            for n in range(count)
        ],
    )
    # a cancelled order is not behind any line (rule 2)
    writer.order(
        4999,
        distributor_id=12,
        state="canceled",
        completed_at=dt.datetime(2026, 5, 11, tzinfo=UTC),
        total="99.00",
    )
    replica.commit()


def _billed_draft(replica) -> Invoice:
    from billing.models import PricingPlan
    from billing.services import billing_run_execute
    from portal.periods import Month

    uk = replica.instance("uk")
    PricingPlan.objects.create(
        instance=uk,
        name="Legacy",
        effective_from=dt.date(2024, 1, 1),
        turnover_rate=Decimal("0.02"),
    )
    billing_run_execute(instance=uk, month=Month(2026, 5))
    return Invoice.objects.get(instance=uk)


def test_line_orders_of_a_draft_come_from_the_replica_then_freeze(pg_replica, client):
    # given shop 12 with 501 complete May orders of 10.00: turnover 5,010.00,
    # 2 % = 100.20, billed by a real run
    _shop_with_orders(pg_replica, 501)
    invoice = _billed_draft(pg_replica)
    line = invoice.lines.get(component="turnover_share")
    client.force_login(
        MembershipFactory(instance=invoice.instance, user=UserFactory()).user
    )
    url = invoice_url(invoice, "invoice-line-orders", line_pk=line.pk)

    # when the draft's orders are opened, then the draft is finalised
    draft_page = client.get(url).content.decode()
    client.post(invoice_url(invoice, "invoice-finalise"))
    frozen_page = client.get(url).content.decode()

    # then
    assert (line.amount, line.order_count) == (Decimal("100.20"), 501)
    assert draft_page.count('data-test="line-order-row"') == 500
    assert "showing the first 500 of 501" in draft_page
    assert list(
        InvoiceLineOrder.objects.filter(line=line)
        .order_by("order_id")
        .values_list("order_id", flat=True)
    ) == list(range(5000, 5501))
    assert frozen_page.count('data-test="line-order-row"') == 500
    assert "Frozen when the invoice was finalised" in frozen_page
    assert "4999" not in frozen_page
