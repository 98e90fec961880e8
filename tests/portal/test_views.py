"""The portal's pages: who sees what, and that no table queries per row (case M07)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from billing.models import Invoice
from tests.billing.factories import (
    BillingRunFactory,
    InvoiceFactory,
    InvoiceLineFactory,
)
from tests.instances.factories import InstanceFactory
from tests.portal.factories import (
    PASSWORD,
    AdminFactory,
    MembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MAY = dt.date(2026, 5, 1)


def rendered(invoice: Invoice) -> Invoice:
    invoice.pdf.save(f"test-{invoice.pk}.pdf", ContentFile(b"%PDF-1.7 test"))
    invoice.pdf_status = Invoice.PdfStatus.RENDERED
    invoice.save(update_fields=["pdf", "pdf_status"])
    return invoice


def instance_urls(instance, invoice) -> dict[str, str]:
    return {
        "instance": reverse("instances:detail", kwargs={"slug": instance.slug}),
        "run": reverse(
            "billing:run", kwargs={"slug": instance.slug, "month": "2026-05"}
        ),
        "pdf": reverse(
            "billing:invoice-pdf", kwargs={"slug": instance.slug, "pk": invoice.pk}
        ),
    }


@pytest.fixture
def uk_invoice():
    run = BillingRunFactory(instance=InstanceFactory(slug="uk"), month=MAY)
    invoice = InvoiceFactory(run=run)
    InvoiceLineFactory(invoice=invoice)
    return rendered(invoice)


@pytest.mark.parametrize("page", ["home", "instance", "run", "pdf"])
def test_pages_send_anonymous_visitors_to_login(client, uk_invoice, page):
    # given
    urls = {"home": reverse("home"), **instance_urls(uk_invoice.instance, uk_invoice)}

    # when
    response = client.get(urls[page])

    # then
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={urls[page]}"


def test_login_page_logs_a_manager_in(client):
    # given
    UserFactory(username="ana")

    # when
    form = client.get(reverse("login"))
    response = client.post(
        reverse("login"), {"username": "ana", "password": PASSWORD}, follow=True
    )

    # then
    assert b'name="username"' in form.content
    assert b'type="submit"' in form.content
    assert response.redirect_chain == [(reverse("home"), 302)]
    assert response.context["user"].username == "ana"


def test_logout_needs_a_post_and_ends_the_session(client):
    # given
    client.force_login(UserFactory())

    # when
    page = client.get(reverse("home"))
    response = client.post(reverse("logout"))

    # then
    assert b'data-test="logout"' in page.content
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_home_lists_exactly_the_users_instances(client):
    # given ana manages ES and keeps the accounts of FR; UK is someone else's
    ana = UserFactory(username="ana")
    es = MembershipFactory(user=ana, instance=InstanceFactory(slug="es")).instance
    fr = MembershipFactory(
        user=ana, instance=InstanceFactory(slug="fr"), role="accountant"
    ).instance
    MembershipFactory(instance=InstanceFactory(slug="uk"))
    client.force_login(ana)

    # when
    response = client.get(reverse("home"))

    # then
    assert list(response.context["instances"]) == sorted([es, fr], key=lambda i: i.name)
    assert b'href="/instances/es/"' in response.content
    assert b'href="/instances/fr/"' in response.content
    assert b"/instances/uk/" not in response.content


def test_home_tells_a_user_without_roles_there_is_nothing(client):
    # given bob has no role anywhere (case M07)
    InstanceFactory(slug="uk")
    client.force_login(UserFactory(username="bob"))

    # when
    response = client.get(reverse("home"))

    # then
    assert list(response.context["instances"]) == []
    assert b'data-test="no-instances"' in response.content


@pytest.mark.parametrize("page", ["instance", "run", "pdf"])
def test_instance_pages_answer_404_to_a_manager_of_another_instance(
    client, uk_invoice, page
):
    # given ana manages ES only; UK has a run and a rendered invoice
    ana = MembershipFactory(instance=InstanceFactory(slug="es")).user
    uk_manager = MembershipFactory(instance=uk_invoice.instance).user
    url = instance_urls(uk_invoice.instance, uk_invoice)[page]

    # when
    client.force_login(ana)
    refused = client.get(url)
    client.force_login(uk_manager)
    allowed = client.get(url)

    # then
    assert refused.status_code == 404
    assert allowed.status_code == 200


def test_invoice_pdf_answers_404_for_an_invoice_of_another_instance(client, uk_invoice):
    # given ana manages ES and asks for a UK invoice id under her own instance
    es = InstanceFactory(slug="es")
    client.force_login(MembershipFactory(instance=es).user)

    # when
    response = client.get(
        reverse("billing:invoice-pdf", kwargs={"slug": "es", "pk": uk_invoice.pk})
    )

    # then
    assert response.status_code == 404


def test_global_admin_sees_every_instance_and_its_pages(client, uk_invoice):
    # given
    InstanceFactory(slug="es")
    client.force_login(AdminFactory())

    # when
    home = client.get(reverse("home"))
    pages = instance_urls(uk_invoice.instance, uk_invoice).values()

    # then
    assert {i.slug for i in home.context["instances"]} == {"uk", "es"}
    assert [client.get(url).status_code for url in pages] == [200, 200, 200]


@pytest.mark.parametrize(
    "month", ["2026-13", "may", "2026-04"], ids=["bad-month", "text", "no-run"]
)
def test_run_page_answers_404_for_a_month_without_run(client, uk_invoice, month):
    # given
    client.force_login(MembershipFactory(instance=uk_invoice.instance).user)

    # when
    response = client.get(reverse("billing:run", kwargs={"slug": "uk", "month": month}))

    # then
    assert response.status_code == 404


def test_instance_page_lists_runs_with_invoice_count_and_gross(client):
    # given two May invoices of 18.04 gross and an April run without invoices
    uk = InstanceFactory(slug="uk")
    may = BillingRunFactory(instance=uk, month=MAY)
    InvoiceFactory.create_batch(2, run=may)
    BillingRunFactory(instance=uk, month=dt.date(2026, 4, 1))
    client.force_login(MembershipFactory(instance=uk).user)

    # when
    response = client.get(reverse("instances:detail", kwargs={"slug": "uk"}))

    # then
    runs = list(response.context["runs"])
    assert [(r.month, r.invoice_count, r.total_gross) for r in runs] == [
        (MAY, 2, Decimal("36.08")),
        (dt.date(2026, 4, 1), 0, Decimal("0")),
    ]
    assert b'href="/instances/uk/billing/runs/2026-05/"' in response.content
    assert "£36.08" in response.content.decode()


def _run_with_invoices(instance, count: int):
    run = BillingRunFactory(instance=instance, month=MAY)
    for n in range(count):
        invoice = InvoiceFactory(
            run=run, subject_name=f"Subject {n:03d}", gross=f"{n}.50"
        )
        InvoiceLineFactory(invoice=invoice, enterprise_id=1)
        InvoiceLineFactory(invoice=invoice, enterprise_id=2 + n % 2)
    return run


def test_home_page_queries_do_not_grow_with_instances(
    client, django_assert_max_num_queries
):
    # given
    user = UserFactory()
    for n in range(12):
        MembershipFactory(user=user, instance=InstanceFactory(slug=f"i{n}"))
    client.force_login(user)

    # when / then: session, user, instances
    with django_assert_max_num_queries(4):
        response = client.get(reverse("home"))
    assert len(response.context["instances"]) == 12


def test_instance_page_queries_do_not_grow_with_runs(
    client, django_assert_max_num_queries
):
    # given a year of runs with invoices
    uk = InstanceFactory(slug="uk")
    for month in range(1, 13):
        run = BillingRunFactory(instance=uk, month=dt.date(2025, month, 1))
        InvoiceFactory.create_batch(3, run=run)
    client.force_login(MembershipFactory(instance=uk).user)

    # when / then: session, user, instance, runs
    with django_assert_max_num_queries(5):
        response = client.get(reverse("instances:detail", kwargs={"slug": "uk"}))
    assert response.content.count(b'data-test="run-row"') == 12


def test_run_page_queries_do_not_grow_with_invoices(
    client, django_assert_max_num_queries
):
    # given 25 invoices on the page, each with two shops and a rendered PDF
    uk = InstanceFactory(slug="uk")
    run = _run_with_invoices(uk, 30)
    for invoice in run.invoices.all():
        rendered(invoice)
    client.force_login(MembershipFactory(instance=uk).user)

    # when / then: session, user, instance, run, count, page of invoices, open
    # recompute proposals, the user's role (may they finalise?), the send slot's two
    with django_assert_max_num_queries(10):
        response = client.get(
            reverse("billing:run", kwargs={"slug": "uk", "month": "2026-05"})
        )
    assert response.content.count(b'data-test="invoice-row"') == 25
    assert response.content.count(b'data-test="invoice-pdf-link"') == 25


def test_run_page_paginates_invoices_25_per_page(client):
    # given
    uk = InstanceFactory(slug="uk")
    _run_with_invoices(uk, 30)
    client.force_login(MembershipFactory(instance=uk).user)
    url = reverse("billing:run", kwargs={"slug": "uk", "month": "2026-05"})

    # when
    first = client.get(url)
    second = client.get(url, {"page": 2})

    # then
    assert [r.record.subject_name for r in first.context["table"].page.object_list][
        :2
    ] == ["Subject 000", "Subject 001"]
    assert len(first.context["table"].page.object_list) == 25
    assert [
        r.record.subject_name for r in second.context["table"].page.object_list
    ] == [f"Subject {n:03d}" for n in range(25, 30)]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-gross", ["Subject 004", "Subject 003", "Subject 002"]),
        ("gross", ["Subject 000", "Subject 001", "Subject 002"]),
        ("-subject_name", ["Subject 004", "Subject 003", "Subject 002"]),
    ],
    ids=["gross-desc", "gross-asc", "subject-desc"],
)
def test_run_page_sorts_invoices(client, sort, expected):
    # given
    uk = InstanceFactory(slug="uk")
    _run_with_invoices(uk, 5)
    client.force_login(MembershipFactory(instance=uk).user)

    # when
    response = client.get(
        reverse("billing:run", kwargs={"slug": "uk", "month": "2026-05"}),
        {"sort": sort},
    )

    # then
    rows = response.context["table"].page.object_list
    assert [row.record.subject_name for row in rows][:3] == expected


def test_run_page_counts_and_sorts_shops_per_invoice(client):
    # given invoices billing three, one and two shops
    uk = InstanceFactory(slug="uk")
    run = BillingRunFactory(instance=uk, month=MAY)
    for name, shops in (("A", 3), ("B", 1), ("C", 2)):
        invoice = InvoiceFactory(run=run, subject_name=name)
        for shop in range(shops):
            # two lines per shop: the count is of shops, not lines
            InvoiceLineFactory.create_batch(2, invoice=invoice, enterprise_id=shop)
    client.force_login(MembershipFactory(instance=uk).user)

    # when
    response = client.get(
        reverse("billing:run", kwargs={"slug": "uk", "month": "2026-05"}),
        {"sort": "-shop_count"},
    )

    # then
    rows = response.context["table"].page.object_list
    assert [(r.record.subject_name, r.record.shop_count) for r in rows] == [
        ("A", 3),
        ("C", 2),
        ("B", 1),
    ]


def test_run_page_links_a_pdf_only_once_rendered(client):
    # given one rendered and one pending invoice
    uk = InstanceFactory(slug="uk")
    run = BillingRunFactory(instance=uk, month=MAY)
    done = rendered(InvoiceFactory(run=run, subject_name="Done"))
    InvoiceFactory(run=run, subject_name="Pending")
    client.force_login(MembershipFactory(instance=uk).user)

    # when
    response = client.get(
        reverse("billing:run", kwargs={"slug": "uk", "month": "2026-05"})
    )

    # then
    html = response.content.decode()
    assert html.count('data-test="invoice-pdf-link"') == 1
    assert f'href="/instances/uk/billing/invoices/{done.pk}/pdf/"' in html
    assert 'target="_blank"' in html


def test_invoice_pdf_is_served_inline(client, uk_invoice):
    # given
    client.force_login(MembershipFactory(instance=uk_invoice.instance).user)

    # when
    response = client.get(instance_urls(uk_invoice.instance, uk_invoice)["pdf"])

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


@pytest.mark.parametrize(
    "pdf_status",
    [Invoice.PdfStatus.PENDING, Invoice.PdfStatus.RENDERING, Invoice.PdfStatus.FAILED],
)
def test_invoice_pdf_answers_404_until_rendered(client, uk_invoice, pdf_status):
    # given a file from an earlier render, but the invoice is not rendered now
    uk_invoice.pdf_status = pdf_status
    uk_invoice.save(update_fields=["pdf_status"])
    client.force_login(MembershipFactory(instance=uk_invoice.instance).user)

    # when
    response = client.get(instance_urls(uk_invoice.instance, uk_invoice)["pdf"])

    # then
    assert response.status_code == 404
