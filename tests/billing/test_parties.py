"""Invoice details: the issuer profile and billing subjects, their services and pages.

Managers and global admins edit them; accountants read them, with subjects' emails
masked (rule 11), and are refused (403) when they post.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from billing.models import BillingSubject, Invoice, IssuerProfile
from billing.services.parties import (
    billing_subject_update,
    issuer_due_on,
    issuer_profile_save,
    issuer_snapshot,
)
from portal.models import AuditEvent, Role
from tests.billing.factories import BillingRunFactory, InvoiceFactory
from tests.instances.factories import InstanceFactory
from tests.portal.factories import PASSWORD, AdminFactory, MembershipFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)
EMAIL = "potato.eggplant@vegetables.com"


def subject(instance, key="owner:17", **fields) -> BillingSubject:
    values = {
        "invoice_name": EMAIL,
        "email": EMAIL,
        "address": "",
        "tax_id": "",
    }
    values.update(fields)
    return BillingSubject.objects.create(instance=instance, key=key, **values)


@pytest.fixture
def uk():
    return InstanceFactory(slug="uk", name="Open Food Network UK")


def login(client, instance, role):
    user = (
        AdminFactory()
        if role == "admin"
        else MembershipFactory(instance=instance, role=role).user
    )
    client.login(username=user.username, password=PASSWORD)
    return user


NEW_DETAILS = {
    "invoice_name": "Huerta Verde SCCL",
    "address": "Camí Vell 3\n08001 Barcelona",
    "tax_id": "F12345678",
    "email": "factures@huertaverde.example",
}


# --- services -------------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_billing_subject_update_marks_the_subject_edited_and_audits_field_names(uk):
    # given a subject prefilled from OFN
    manager = MembershipFactory(instance=uk, role=Role.MANAGER).user
    prefilled = subject(uk)

    # when
    billing_subject_update(subject=prefilled, actor=manager, values=NEW_DETAILS)

    # then
    edited = BillingSubject.objects.get(pk=prefilled.pk)
    assert (edited.invoice_name, edited.address, edited.tax_id, edited.email) == (
        "Huerta Verde SCCL",
        "Camí Vell 3\n08001 Barcelona",
        "F12345678",
        "factures@huertaverde.example",
    )
    assert (edited.edited_by, edited.edited_at) == (manager, NOW)
    event = AuditEvent.objects.get(action="billing_subject.edited")
    assert (event.actor, event.instance, event.object_id) == (
        manager,
        uk,
        str(prefilled.pk),
    )
    assert event.details == {
        "fields": ["address", "email", "invoice_name", "tax_id"],
        "drafts": [],
    }
    assert "eggplant" not in str(event.details)


def test_billing_subject_update_without_a_change_marks_nothing(uk):
    # given
    manager = MembershipFactory(instance=uk, role=Role.MANAGER).user
    prefilled = subject(uk)

    # when
    billing_subject_update(
        subject=prefilled, actor=manager, values={"invoice_name": EMAIL}
    )

    # then
    prefilled.refresh_from_db()
    assert prefilled.edited_at is None
    assert not AuditEvent.objects.exists()


def test_billing_subject_update_copies_the_details_onto_drafts_only(
    uk, django_capture_on_commit_callbacks, monkeypatch
):
    # given a November draft and an October invoice already finalised
    manager = MembershipFactory(instance=uk, role=Role.MANAGER).user
    prefilled = subject(uk)
    draft = InvoiceFactory(
        run=BillingRunFactory(instance=uk, month=dt.date(2026, 11, 1)),
        subject_key="owner:17",
        subject_name=EMAIL,
        pdf_status=Invoice.PdfStatus.RENDERED,
    )
    issued = InvoiceFactory(
        run=BillingRunFactory(instance=uk, month=dt.date(2026, 10, 1)),
        subject_key="owner:17",
        subject_name=EMAIL,
        status=Invoice.Status.FINALISED,
        number="UK-2026-0001",
        pdf_status=Invoice.PdfStatus.RENDERED,
    )
    queued = []
    monkeypatch.setattr(
        "billing.tasks.invoice_render_task.delay", lambda pk: queued.append(pk)
    )

    # when
    with django_capture_on_commit_callbacks(execute=True):
        billing_subject_update(subject=prefilled, actor=manager, values=NEW_DETAILS)

    # then
    draft.refresh_from_db()
    issued.refresh_from_db()
    assert (draft.subject_name, draft.subject_tax_id, draft.subject_email) == (
        "Huerta Verde SCCL",
        "F12345678",
        "factures@huertaverde.example",
    )
    assert draft.subject_address == "Camí Vell 3\n08001 Barcelona"
    assert draft.pdf_status == Invoice.PdfStatus.PENDING
    assert (issued.subject_name, issued.pdf_status) == (
        EMAIL,
        Invoice.PdfStatus.RENDERED,
    )
    assert queued == [draft.pk]


def test_issuer_profile_save_creates_then_audits_old_and_new_values(uk):
    # given
    manager = MembershipFactory(instance=uk, role=Role.MANAGER).user
    first = {
        "legal_name": "Open Food Network UK CIC",
        "bank_details": "Sort code 12-34-56, account 12345678",
        "payment_terms_days": 30,
    }

    # when
    issuer_profile_save(instance=uk, actor=manager, values=first)
    issuer_profile_save(
        instance=uk,
        actor=manager,
        values={**first, "bank_details": "Sort code 65-43-21, account 87654321"},
    )

    # then
    issuer = IssuerProfile.objects.get(instance=uk)
    assert issuer.bank_details == "Sort code 65-43-21, account 87654321"
    created, updated = AuditEvent.objects.order_by("id")
    assert (created.action, updated.action) == (
        "issuer_profile.created",
        "issuer_profile.updated",
    )
    assert updated.details["changes"] == {
        "bank_details": {
            "old": "Sort code 12-34-56, account 12345678",
            "new": "Sort code 65-43-21, account 87654321",
        }
    }


def test_issuer_profile_save_refreshes_the_issuer_of_drafts(uk):
    # given a draft with no issuer details yet
    draft = InvoiceFactory(run=BillingRunFactory(instance=uk), issuer={})

    # when
    issuer = issuer_profile_save(
        instance=uk,
        actor=None,
        values={"legal_name": "OFN UK CIC", "tax_id": "GB123456789"},
    )

    # then
    draft.refresh_from_db()
    assert draft.issuer == issuer_snapshot(issuer)
    assert draft.issuer["legal_name"] == "OFN UK CIC"
    assert draft.issuer["tax_id"] == "GB123456789"


@pytest.mark.parametrize(
    ("days", "due"),
    [
        (30, dt.date(2026, 12, 31)),
        (14, dt.date(2026, 12, 15)),
        (0, dt.date(2026, 12, 1)),
    ],
    ids=["30-days", "14-days", "on-receipt"],
)
def test_issuer_due_on_adds_the_payment_terms_to_the_issue_date(uk, days, due):
    # given
    issuer = IssuerProfile(instance=uk, legal_name="OFN UK", payment_terms_days=days)

    # when / then
    assert issuer_due_on(issuer=issuer, issued_on=dt.date(2026, 12, 1)) == due


# --- pages ----------------------------------------------------------------------


def subjects_url(slug="uk"):
    return reverse("billing:subjects", kwargs={"slug": slug})


def edit_url(pk, slug="uk"):
    return reverse("billing:subject-edit", kwargs={"slug": slug, "pk": pk})


def issuer_url(slug="uk"):
    return reverse("billing:issuer", kwargs={"slug": slug})


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (Role.MANAGER, EMAIL),
        ("admin", EMAIL),
        (Role.ACCOUNTANT, "p***@vegetables.com"),
    ],
    ids=["manager", "admin", "accountant"],
)
def test_subject_list_shows_emails_only_to_those_who_send_invoices(
    client, uk, role, shown
):
    # given a subject named after its owner's login (OFN's prefill)
    subject(uk, invoice_name="Green Valley Hub")
    login(client, uk, role)

    # when
    page = client.get(subjects_url())

    # then
    html = page.content.decode()
    assert page.status_code == 200
    assert shown in html
    if role == Role.ACCOUNTANT:
        assert "eggplant" not in html


def test_subject_list_searches_names_keys_and_tax_ids(client, uk):
    # given
    subject(uk, key="owner:1", invoice_name="Huerta Verde", tax_id="F111")
    subject(uk, key="external:77", invoice_name="Cal Pagès", tax_id="B222")
    subject(uk, key="owner:3", invoice_name="Müller & Söhne", tax_id="DE333")
    login(client, uk, Role.ACCOUNTANT)

    def keys(query):
        page = client.get(subjects_url(), {"q": query})
        return [row.key for row in page.context["table"].page.object_list.data]

    # when / then
    assert keys("verde") == ["owner:1"]
    assert keys("external:") == ["external:77"]
    assert keys("DE3") == ["owner:3"]
    assert keys("vegetables") == []  # emails are not searchable by accountants


def test_subject_list_pages_by_25_with_a_bounded_number_of_queries(
    client, uk, django_assert_max_num_queries
):
    # given 30 subjects, half of them edited by a manager
    manager = login(client, uk, Role.MANAGER)
    for n in range(30):
        subject(
            uk,
            key=f"owner:{n}",
            invoice_name=f"Shop {n:02d}",
            edited_by=manager if n % 2 else None,
            edited_at=NOW if n % 2 else None,
        )

    # when: session, user, instance, role, count, rows with their editors
    with django_assert_max_num_queries(6):
        first = client.get(subjects_url())
    second = client.get(subjects_url(), {"page": 2})

    # then
    assert len(first.context["table"].page.object_list) == 25
    assert len(second.context["table"].page.object_list) == 5
    assert "Shop 29" in second.content.decode()
    assert f"Edited by {manager.username} on 2026-12-02" in first.content.decode()


def test_subject_edit_saves_a_managers_details(client, uk):
    # given
    prefilled = subject(uk)
    manager = login(client, uk, Role.MANAGER)

    # when
    response = client.post(edit_url(prefilled.pk), NEW_DETAILS)

    # then
    assert response.status_code == 302
    assert response.url == subjects_url()
    prefilled.refresh_from_db()
    assert prefilled.invoice_name == "Huerta Verde SCCL"
    assert prefilled.edited_by == manager


def test_subject_edit_answers_400_with_the_error_for_a_bad_email(client, uk):
    # given
    prefilled = subject(uk)
    login(client, uk, Role.MANAGER)

    # when
    response = client.post(edit_url(prefilled.pk), {**NEW_DETAILS, "email": "nope"})

    # then
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    prefilled.refresh_from_db()
    assert prefilled.edited_at is None


def test_subject_edit_shows_an_accountant_the_details_and_refuses_a_post(client, uk):
    # given
    prefilled = subject(uk, invoice_name="Huerta Verde", tax_id="F111")
    login(client, uk, Role.ACCOUNTANT)

    # when
    page = client.get(edit_url(prefilled.pk))
    refused = client.post(edit_url(prefilled.pk), NEW_DETAILS)

    # then
    html = page.content.decode()
    assert 'data-test="subject-form"' not in html
    assert "p***@vegetables.com" in html
    assert "eggplant" not in html
    assert refused.status_code == 403
    prefilled.refresh_from_db()
    assert prefilled.invoice_name == "Huerta Verde"


def test_subject_pages_answer_404_outside_the_users_instances(client, uk):
    # given a subject of UK and a manager of another instance
    prefilled = subject(uk)
    login(client, InstanceFactory(slug="es"), Role.MANAGER)

    # when / then
    assert client.get(subjects_url()).status_code == 404
    assert client.post(edit_url(prefilled.pk), NEW_DETAILS).status_code == 404
    assert client.get(edit_url(prefilled.pk, slug="es")).status_code == 404


ISSUER_POST = {
    "legal_name": "Open Food Network UK CIC",
    "address": "1 Market Street\nLeeds LS1 1AA",
    "tax_id": "GB123456789",
    "email": "billing@openfoodnetwork.org.uk",
    "bank_details": "Sort code 12-34-56\nAccount 12345678",
    "payment_terms_days": "14",
    "xero_account_code": "4000",
    "xero_tax_type": "OUTPUT2",
    "xero_tax_type_exempt": "ZERORATEDOUTPUT",
}


@pytest.mark.parametrize("role", [Role.MANAGER, "admin"])
def test_issuer_page_saves_the_profile_for_managers_and_admins(client, uk, role):
    # given
    login(client, uk, role)

    # when
    form = client.get(issuer_url())
    response = client.post(issuer_url(), ISSUER_POST)

    # then
    assert b'data-test="issuer-form"' in form.content
    assert response.status_code == 302
    issuer = IssuerProfile.objects.get(instance=uk)
    assert (issuer.legal_name, issuer.payment_terms_days, issuer.xero_tax_type) == (
        "Open Food Network UK CIC",
        14,
        "OUTPUT2",
    )


def test_issuer_page_is_read_only_for_an_accountant(client, uk):
    # given
    IssuerProfile.objects.create(
        instance=uk, legal_name="Open Food Network UK CIC", tax_id="GB123456789"
    )
    login(client, uk, Role.ACCOUNTANT)

    # when
    page = client.get(issuer_url())
    refused = client.post(issuer_url(), ISSUER_POST)

    # then
    assert b'data-test="issuer-form"' not in page.content
    assert b"GB123456789" in page.content
    assert refused.status_code == 403
    assert IssuerProfile.objects.get(instance=uk).payment_terms_days == 30
