"""The admin: the replica URL is write-only; billing records are read-only."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from billing.models import Invoice
from instances.models import Instance
from tests.billing.factories import InvoiceFactory, InvoiceLineFactory
from tests.instances.factories import InstanceFactory
from tests.portal.factories import AdminFactory

pytestmark = pytest.mark.django_db

# A made-up credential: the test proves it never reaches a page.
SECRET_URL = "postgresql://ofn_portal:s3cret-Pa55@replica.example.org:5432/ofn"  # noqa: S105


def form_data(instance: Instance, **changes) -> dict:
    data = {
        "slug": instance.slug,
        "name": instance.name,
        "country": instance.country,
        "currency": instance.currency,
        "time_zone": instance.time_zone,
        "language": instance.language,
        "invoice_prefix": instance.invoice_prefix,
        "replica_url": "",
        "replica_url_env": instance.replica_url_env,
        "statement_timeout_ms": instance.statement_timeout_ms,
    }
    data.update(changes)
    return data


@pytest.fixture
def admin_client(client):
    client.force_login(AdminFactory())
    return client


def test_instance_admin_never_shows_the_replica_url(admin_client):
    # given
    instance = InstanceFactory(slug="uk", replica_url=SECRET_URL)

    # when
    change = admin_client.get(
        reverse("admin:instances_instance_change", args=[instance.pk])
    )
    listing = admin_client.get(reverse("admin:instances_instance_changelist"))

    # then
    for page in (change, listing):
        assert page.status_code == 200
        assert b"s3cret" not in page.content
        assert b"replica.example.org" not in page.content
    assert b'type="password"' in change.content
    assert b"Replica configured" in listing.content


def test_instance_admin_keeps_the_stored_url_when_left_blank(admin_client):
    # given
    instance = InstanceFactory(slug="uk", replica_url=SECRET_URL)

    # when
    response = admin_client.post(
        reverse("admin:instances_instance_change", args=[instance.pk]),
        form_data(instance, name="OFN United Kingdom"),
    )

    # then
    assert response.status_code == 302
    instance.refresh_from_db()
    assert instance.name == "OFN United Kingdom"
    assert instance.replica_url == SECRET_URL


def test_instance_admin_replaces_the_url_when_given(admin_client):
    # given
    instance = InstanceFactory(slug="uk", replica_url=SECRET_URL)
    new_url = "postgresql://ofn_portal:other@replica2.example.org/ofn"

    # when
    admin_client.post(
        reverse("admin:instances_instance_change", args=[instance.pk]),
        form_data(instance, replica_url=new_url),
    )

    # then
    instance.refresh_from_db()
    assert instance.replica_url == new_url


def test_instance_admin_clears_the_url_for_an_environment_variable(admin_client):
    # given
    instance = InstanceFactory(slug="uk", replica_url=SECRET_URL)

    # when
    admin_client.post(
        reverse("admin:instances_instance_change", args=[instance.pk]),
        form_data(
            instance, clear_replica_url="on", replica_url_env="OFN_UK_REPLICA_URL"
        ),
    )

    # then
    instance.refresh_from_db()
    assert instance.replica_url == ""
    assert instance.replica_url_env == "OFN_UK_REPLICA_URL"


def test_instance_admin_refuses_an_instance_without_any_replica(admin_client):
    # given
    instance = InstanceFactory(slug="uk", replica_url=SECRET_URL)

    # when
    response = admin_client.post(
        reverse("admin:instances_instance_change", args=[instance.pk]),
        form_data(instance, clear_replica_url="on"),
    )

    # then
    assert response.status_code == 200
    assert b"Give a replica URL or its variable." in response.content
    assert b"s3cret" not in response.content
    instance.refresh_from_db()
    assert instance.replica_url == SECRET_URL


def test_invoice_admin_shows_lines_and_allows_no_change(admin_client):
    # given a rendered invoice
    invoice = InvoiceFactory(pdf_status=Invoice.PdfStatus.RENDERED)
    invoice.pdf.save("x.pdf", ContentFile(b"%PDF-1.7"))
    InvoiceLineFactory(invoice=invoice, enterprise_name="Müller & Söhne")
    url = reverse("admin:billing_invoice_change", args=[invoice.pk])

    # when
    page = admin_client.get(url)
    post = admin_client.post(url, {"subject_name": "Changed"})

    # then
    assert page.status_code == 200
    assert "Müller &amp; Söhne" in page.content.decode()
    pdf_url = f"/instances/{invoice.instance.slug}/billing/invoices/{invoice.pk}/pdf/"
    assert pdf_url.encode() in page.content
    assert b"/media/" not in page.content
    assert post.status_code == 403
    invoice.refresh_from_db()
    assert invoice.subject_name != "Changed"


@pytest.mark.parametrize(
    "name",
    [
        "billing_billingrun",
        "billing_invoice",
        "billing_pricingplan",
        "portal_membership",
        "portal_auditevent",
        "auth_user",
    ],
)
def test_admin_lists_open_for_a_global_admin(admin_client, name):
    # given
    InvoiceLineFactory()

    # when
    response = admin_client.get(reverse(f"admin:{name}_changelist"))

    # then
    assert response.status_code == 200
