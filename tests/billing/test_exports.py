"""Accountant exports (rule 10, cases M05, M06, B06, B12, B13): the invoices CSV, the
Xero import file, their pages and the export_invoices command. Every expected figure
is worked out by hand in the docstring or comment next to it."""

import csv
import datetime as dt
import io
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation

from billing.exports import (
    XERO_HEADER,
    ExportScope,
    invoice_export,
    read_invoice_csv,
)
from billing.models import Invoice, IssuerProfile, PricingPlan
from billing.pdf import invoice_pdf_bytes
from billing.services import billing_run_execute
from billing.services.lifecycle import invoice_finalise
from portal.exceptions import InvalidInput
from portal.formats import money_display
from portal.models import Role
from portal.periods import Month
from tests.billing.factories import (
    BillingRunFactory,
    InvoiceFactory,
    InvoiceLineFactory,
)
from tests.instances.factories import InstanceFactory
from tests.portal.factories import PASSWORD, AdminFactory, MembershipFactory

pytestmark = pytest.mark.django_db

NOVEMBER = Month(2026, 11)
ISSUED = dt.date(2026, 12, 1)
DUE = dt.date(2026, 12, 31)
BOM = b"\xef\xbb\xbf"


def uk_instance():
    instance = InstanceFactory(
        slug="uk", name="Open Food Network UK", country="GB", currency="GBP"
    )
    IssuerProfile.objects.create(
        instance=instance,
        legal_name="Open Food Network UK CIC",
        xero_account_code="4000",
        xero_tax_type="OUTPUT2",
        xero_tax_type_exempt="ZERORATEDOUTPUT",
    )
    return instance


def issued(instance, *, lines, number, month=NOVEMBER, **fields) -> Invoice:
    """A finalised invoice of `instance` with `lines`: (shop id, shop, what, amount,
    tax rate); the figures and the tax breakdown are given by the caller."""
    values = {
        "status": Invoice.Status.FINALISED,
        "number": number,
        "issued_on": ISSUED,
        "due_on": DUE,
        "subject_name": "Peña Straße Façade Ltd",
    }
    values.update(fields)
    invoice = InvoiceFactory(
        run=BillingRunFactory(instance=instance, month=month.first_day), **values
    )
    for position, (shop_id, shop, description, amount, rate) in enumerate(lines, 1):
        InvoiceLineFactory(
            invoice=invoice,
            position=position,
            enterprise_id=shop_id,
            enterprise_name=shop,
            description=description,
            amount=amount,
            tax_rate=rate,
        )
    return invoice


def b06_invoice(instance=None) -> Invoice:
    """Case B06: fixed fee 10.01 + turnover share 5.02 = net 15.03; VAT 20 % once on
    the net: 3.006 -> 3.01; gross 18.04 (per-line tax would give 2.00 + 1.00)."""
    return issued(
        instance or uk_instance(),
        number="UK-2026-0001",
        subject_email="potato.eggplant@vegetables.com",
        subject_address="2 Farm Lane\nYork\nNorth Yorkshire\nYO1 2BB\nEngland",
        subject_tax_id="GB987654321",
        lines=[
            (101, "Green Valley Hub", "Fixed fee", "10.01", "0.20"),
            (101, "Green Valley Hub", "Share of turnover", "5.02", "0.20"),
        ],
        net="15.03",
        tax="3.01",
        gross="18.04",
        tax_breakdown={"0.2000": {"net": "15.03", "tax": "3.01"}},
    )


def katuma_instance():
    instance = InstanceFactory(
        slug="katuma",
        name="Katuma",
        country="ES",
        language="es",
        currency="EUR",
        time_zone="Europe/Madrid",
    )
    IssuerProfile.objects.create(
        instance=instance,
        legal_name="Katuma SCCL",
        xero_account_code="705",
        xero_tax_type="IVA21",
        xero_tax_type_exempt="EXENTO",
    )
    return instance


def katuma_invoice() -> Invoice:
    """A Katuma producer with sales 1,500.00 in its first month after the trial: top
    tier 50.00 + 1 % of 1,500.00 (15.00) = 65.00 at 21 % (13.65), and the member
    capital 100.00 without VAT. Net 165.00, tax 13.65, gross 178.65."""
    return issued(
        katuma_instance(),
        number="KAT-2026-0001",
        subject_name="Huerta Verde SCCL",
        lines=[
            (4321, "Huerta Verde", "Cuota del tramo", "50.00", "0.21"),
            (4321, "Huerta Verde", "1 % de las ventas", "15.00", "0.21"),
            (4321, "Huerta Verde", "Capital social", "100.00", "0"),
        ],
        tax_rate="0.21",
        net="165.00",
        tax="13.65",
        gross="178.65",
        tax_breakdown={
            "0.0000": {"net": "100.00", "tax": "0.00"},
            "0.2100": {"net": "65.00", "tax": "13.65"},
        },
    )


def export(instance, export_format="csv", *, reveal=True, **scope) -> bytes:
    scope = scope or {"month": NOVEMBER}
    return invoice_export(
        instance=instance,
        scope=ExportScope(**scope),
        export_format=export_format,
        reveal_personal=reveal,
    ).content


def rows(content: bytes) -> list[list[str]]:
    """The raw cells, read by Python's csv module rather than the portal's reader."""
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def records(content: bytes) -> list[dict[str, str]]:
    header, *body = rows(content)
    return [dict(zip(header, row, strict=True)) for row in body]


def pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(content)
    text = subprocess.run(  # noqa: S603 - fixed tool, test-owned file
        ["/usr/bin/pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


# --- the invoices CSV -----------------------------------------------------------


def test_invoice_csv_lists_an_invoice_with_tax_by_rate():
    # given case B06
    invoice = b06_invoice()

    # when
    content = export(invoice.instance)

    # then
    assert rows(content)[0] == [
        "number",
        "kind",
        "credits",
        "issue_date",
        "due_date",
        "month",
        "subject_key",
        "subject_name",
        "subject_tax_id",
        "shop_ids",
        "shop_names",
        "net",
        "net_20.00",
        "tax_20.00",
        "tax_total",
        "gross",
        "currency",
        "status",
    ]
    assert rows(content)[1] == [
        "UK-2026-0001",
        "invoice",
        "",
        "2026-12-01",
        "2026-12-31",
        "2026-11",
        invoice.subject_key,
        "Peña Straße Façade Ltd",
        "GB987654321",
        "101",
        "Green Valley Hub",
        "15.03",
        "15.03",
        "3.01",
        "3.01",
        "18.04",
        "GBP",
        "finalised",
    ]


def test_invoice_csv_gives_each_rate_its_columns_for_a_zero_rated_capital_line():
    # given Katuma's 21 % lines and its 0 % member capital
    invoice = katuma_invoice()

    # when
    (record,) = records(export(invoice.instance))

    # then
    assert {key: record[key] for key in record if key.startswith(("net", "tax"))} == {
        "net": "165.00",
        "net_0.00": "100.00",
        "tax_0.00": "0.00",
        "net_21.00": "65.00",
        "tax_21.00": "13.65",
        "tax_total": "13.65",
    }
    assert record["gross"] == "178.65"


def test_invoice_csv_leaves_a_rate_column_empty_for_an_invoice_without_that_rate():
    # given one invoice at 20 % and one without tax in the same month
    instance = uk_instance()
    b06_invoice(instance)
    issued(
        instance,
        number="UK-2026-0002",
        lines=[(7, "Tiny Shop", "Fixed fee", "5.00", "0")],
        tax_rate="0",
        net="5.00",
        tax="0.00",
        gross="5.00",
        tax_breakdown={"0.0000": {"net": "5.00", "tax": "0.00"}},
    )

    # when
    first, second = records(export(instance))

    # then
    assert (first["net_0.00"], first["tax_20.00"]) == ("", "3.01")
    assert (second["net_0.00"], second["tax_0.00"], second["tax_20.00"]) == (
        "5.00",
        "0.00",
        "",
    )


def test_invoice_csv_starts_with_a_bom_and_keeps_every_accent():
    # given case M05
    instance = uk_instance()
    issued(
        instance,
        number="UK-2026-0001",
        subject_name="Épicerie Bío Château",
        lines=[(1, "Müller & Söhne", "Cuota 12,50 €", "12.50", "0")],
        net="12.50",
        tax="0.00",
        gross="12.50",
    )

    # when
    csv_file = export(instance)
    xero_file = export(instance, "xero")

    # then
    assert csv_file[:3] == BOM
    assert xero_file[:3] == BOM
    text = csv_file.decode("utf-8-sig") + xero_file.decode("utf-8-sig")
    assert "Épicerie Bío Château" in text
    assert "Müller & Söhne" in text
    assert "Cuota 12,50 €" in text
    assert not text.startswith("\ufeff")


def test_invoice_csv_writes_plain_numbers_whatever_the_display_locale():
    # given case M06: an accountant reading in es-ES
    instance = uk_instance()
    for number, amount in (("UK-2026-0001", "18500.00"), ("UK-2026-0002", "1234.56")):
        issued(
            instance,
            number=number,
            lines=[(1, "Shop", "Fee", amount, "0")],
            tax_rate="0",
            net=amount,
            tax="0.00",
            gross=amount,
        )

    # when
    with translation.override("es"):
        shown = money_display(Decimal("18500.00"), "EUR")
        content = export(instance)

    # then: the page would show the Spanish form, the file never does
    assert shown == "18.500,00\u00a0€"
    assert [record["net"] for record in records(content)] == ["18500.00", "1234.56"]
    first, second = read_invoice_csv(content)
    assert first["net"] == Decimal("18500.00")
    assert str(first["net"]) == "18500.00"
    assert str(second["gross"]) == "1234.56"
    assert first["issue_date"] == ISSUED


@pytest.mark.parametrize(
    "name",
    ["=SUM(A1:A9)", "+34 612", "-2+3", "@cmd", "\tTabbed", "\rReturn", "'=already"],
    ids=["equals", "plus", "minus", "at", "tab", "carriage-return", "apostrophe"],
)
def test_invoice_csv_neutralises_formula_like_text_and_reads_it_back(name):
    # given
    instance = uk_instance()
    issued(
        instance,
        number="UK-2026-0001",
        subject_name=name,
        lines=[(1, name, "Fee", "10.00", "0")],
        net="10.00",
        tax="0.00",
        gross="10.00",
    )

    # when
    content = export(instance)

    # then
    (record,) = records(content)
    assert record["subject_name"] == "'" + name
    assert record["shop_names"] == "'" + name
    (typed,) = read_invoice_csv(content)
    assert typed["subject_name"] == name


def test_invoice_csv_keeps_a_credit_notes_negative_amounts_untouched():
    # given case B13: 2.5 % of 2,413.00 = 60.325 -> 60.33, then a full credit note
    instance = uk_instance()
    invoice = issued(
        instance,
        number="UK-2026-0001",
        lines=[(12, "Shop 12", "Share of turnover", "60.33", "0")],
        tax_rate="0",
        net="60.33",
        tax="0.00",
        gross="60.33",
        status=Invoice.Status.CREDITED,
    )
    issued(
        instance,
        number="UK-CN-2026-0001",
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        subject_key=invoice.subject_key,
        lines=[(12, "Shop 12", "Share of turnover", "-60.33", "0")],
        tax_rate="0",
        net="-60.33",
        tax="0.00",
        gross="-60.33",
    )

    # when
    content = export(instance)

    # then
    original, credit = records(content)
    assert (original["gross"], original["status"]) == ("60.33", "credited")
    assert (credit["kind"], credit["credits"]) == ("credit_note", "UK-2026-0001")
    assert (credit["net"], credit["tax_total"], credit["gross"]) == (
        "-60.33",
        "0.00",
        "-60.33",
    )
    assert sum(row["gross"] for row in read_invoice_csv(content)) == Decimal("0.00")


def test_invoice_csv_shows_a_credit_note_stored_positive_as_negative():
    # given a credit note whose figures were stored without their sign
    instance = uk_instance()
    issued(
        instance,
        number="UK-CN-2026-0001",
        kind=Invoice.Kind.CREDIT_NOTE,
        lines=[(12, "Shop 12", "Credit", "60.33", "0")],
        tax_rate="0",
        net="60.33",
        tax="0.00",
        gross="60.33",
    )

    # when
    (record,) = records(export(instance))

    # then
    assert (record["net"], record["gross"]) == ("-60.33", "-60.33")


def test_invoice_csv_writes_yen_without_decimals():
    # given case B12: 1,000 + 2 % of 123,456 (2,469.12 -> 2,469) = 3,469 JPY
    japan = InstanceFactory(slug="jp", country="JP", currency="JPY")
    issued(
        japan,
        number="JP-2026-0001",
        lines=[
            (1, "Tokyo Hub", "Fixed fee", "1000", "0"),
            (1, "Tokyo Hub", "Share of turnover", "2469", "0"),
        ],
        tax_rate="0",
        net="3469",
        tax="0",
        gross="3469",
    )

    # when
    (record,) = records(export(japan))
    (line, _) = records(export(japan, "xero"))

    # then
    assert (record["net"], record["tax_total"], record["gross"]) == (
        "3469",
        "0",
        "3469",
    )
    assert (line["*UnitAmount"], line["Total"]) == ("1000", "3469")


def test_invoice_csv_leaves_drafts_out_and_keeps_every_issued_status():
    # given one document in each status
    instance = uk_instance()
    for n, status in enumerate(Invoice.Status.values, 1):
        issued(
            instance,
            number=None if status == "draft" else f"UK-2026-{n:04d}",
            status=status,
            lines=[(n, f"Shop {n}", "Fee", "1.00", "0")],
        )

    # when
    statuses = [record["status"] for record in records(export(instance))]

    # then
    assert statuses == ["finalised", "sent", "paid", "void", "credited"]


def test_invoice_export_scopes_by_month_and_by_issue_dates():
    # given November issued on 1 December, December issued on 2 January
    instance = uk_instance()
    issued(instance, number="UK-2026-0001", lines=[(1, "A", "Fee", "1.00", "0")])
    issued(
        instance,
        number="UK-2027-0001",
        month=Month(2026, 12),
        issued_on=dt.date(2027, 1, 2),
        lines=[(1, "A", "Fee", "1.00", "0")],
    )

    def numbers(**scope):
        return [record["number"] for record in records(export(instance, **scope))]

    # when / then
    assert numbers(month=NOVEMBER) == ["UK-2026-0001"]
    assert numbers(month=Month(2026, 12)) == ["UK-2027-0001"]
    assert numbers(issued_from=dt.date(2026, 12, 1)) == [
        "UK-2026-0001",
        "UK-2027-0001",
    ]
    assert numbers(issued_from=dt.date(2026, 12, 2), issued_to=dt.date(2027, 1, 2)) == [
        "UK-2027-0001"
    ]
    assert numbers(issued_to=dt.date(2026, 12, 1)) == ["UK-2026-0001"]


def test_export_scope_refuses_no_period_and_a_reversed_range():
    # when / then
    with pytest.raises(InvalidInput, match="month or an issue-date range"):
        ExportScope()
    with pytest.raises(InvalidInput, match="swap the dates"):
        ExportScope(issued_from=dt.date(2026, 12, 31), issued_to=dt.date(2026, 12, 1))


# --- the Xero file --------------------------------------------------------------


def test_xero_csv_has_xeros_sales_invoice_header():
    # given
    instance = uk_instance()

    # when
    header, *body = rows(export(instance, "xero"))

    # then
    assert header == XERO_HEADER
    assert header == [
        "*ContactName",
        "EmailAddress",
        "POAddressLine1",
        "POAddressLine2",
        "POAddressLine3",
        "POAddressLine4",
        "POCity",
        "PORegion",
        "POPostalCode",
        "POCountry",
        "*InvoiceNumber",
        "Reference",
        "*InvoiceDate",
        "*DueDate",
        "Total",
        "InventoryItemCode",
        "*Description",
        "*Quantity",
        "*UnitAmount",
        "Discount",
        "*AccountCode",
        "*TaxType",
        "TaxAmount",
        "TrackingName1",
        "TrackingOption1",
        "TrackingName2",
        "TrackingOption2",
        "Currency",
        "BrandingTheme",
    ]
    assert body == []


def test_xero_csv_writes_one_row_per_line_with_the_invoice_tax_split_over_them():
    # given case B06: VAT 3.01 on the invoice; 20 % of each line is 2.002 and 1.004,
    # rounded down 2.00 + 1.00 with the cent left going to the larger remainder
    invoice = b06_invoice()

    # when
    fee, share = records(export(invoice.instance, "xero"))

    # then
    assert fee == {
        "*ContactName": "Peña Straße Façade Ltd",
        "EmailAddress": "potato.eggplant@vegetables.com",
        "POAddressLine1": "2 Farm Lane",
        "POAddressLine2": "York",
        "POAddressLine3": "North Yorkshire",
        "POAddressLine4": "YO1 2BB, England",
        "POCity": "",
        "PORegion": "",
        "POPostalCode": "",
        "POCountry": "",
        "*InvoiceNumber": "UK-2026-0001",
        "Reference": "2026-11",
        "*InvoiceDate": "01/12/2026",
        "*DueDate": "31/12/2026",
        "Total": "18.04",
        "InventoryItemCode": "",
        "*Description": "Green Valley Hub (#101): Fixed fee",
        "*Quantity": "1",
        "*UnitAmount": "10.01",
        "Discount": "",
        "*AccountCode": "4000",
        "*TaxType": "OUTPUT2",
        "TaxAmount": "2.00",
        "TrackingName1": "",
        "TrackingOption1": "",
        "TrackingName2": "",
        "TrackingOption2": "",
        "Currency": "GBP",
        "BrandingTheme": "",
    }
    assert (share["*UnitAmount"], share["TaxAmount"]) == ("5.02", "1.01")
    assert share["*InvoiceNumber"] == "UK-2026-0001"


def test_xero_csv_uses_the_exempt_tax_type_for_untaxed_lines():
    # given Katuma: 21 % lines (10.50 and 3.15, exactly 13.65) and 0 % capital
    invoice = katuma_invoice()

    # when
    lines = records(export(invoice.instance, "xero"))

    # then
    assert [
        (line["*UnitAmount"], line["*AccountCode"], line["*TaxType"], line["TaxAmount"])
        for line in lines
    ] == [
        ("50.00", "705", "IVA21", "10.50"),
        ("15.00", "705", "IVA21", "3.15"),
        ("100.00", "705", "EXENTO", "0.00"),
    ]
    assert {line["Total"] for line in lines} == {"178.65"}


def test_xero_csv_writes_month_first_dates_for_a_united_states_instance():
    # given
    usa = InstanceFactory(slug="us", country="US", currency="USD")
    issued(usa, number="US-2026-0001", lines=[(1, "A", "Fee", "1.00", "0")])

    # when
    (line,) = records(export(usa, "xero"))

    # then
    assert (line["*InvoiceDate"], line["*DueDate"]) == ("12/01/2026", "12/31/2026")


def test_xero_csv_masks_the_email_for_people_who_do_not_send_invoices():
    # given case X01's address on the B06 invoice, named after its owner's login
    invoice = b06_invoice()
    invoice.subject_name = "potato.eggplant@vegetables.com"
    invoice.save(update_fields=["subject_name"])

    # when
    masked = export(invoice.instance, "xero", reveal=False)
    accountant_csv = export(invoice.instance, reveal=False)

    # then
    line = records(masked)[0]
    assert (line["*ContactName"], line["EmailAddress"]) == (
        "p***@vegetables.com",
        "p***@vegetables.com",
    )
    assert b"eggplant" not in masked
    assert b"eggplant" not in accountant_csv


def test_xero_csv_marks_a_credit_notes_reference_and_keeps_it_negative():
    # given case B13's credit note, stored with negative figures
    instance = uk_instance()
    invoice = issued(
        instance,
        number="UK-2026-0001",
        lines=[(12, "Shop 12", "Share", "60.33", "0")],
        net="60.33",
        tax="0.00",
        gross="60.33",
    )
    issued(
        instance,
        number="UK-CN-2026-0001",
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        lines=[(12, "Shop 12", "Share", "-60.33", "0")],
        net="-60.33",
        tax="0.00",
        gross="-60.33",
    )

    # when
    _, credit = records(export(instance, "xero"))

    # then
    assert credit["Reference"] == "2026-11 credits UK-2026-0001"
    assert (credit["*UnitAmount"], credit["Total"]) == ("-60.33", "-60.33")


# --- the same figure everywhere -------------------------------------------------


def test_b06_figures_agree_in_pdf_csv_xero_and_pages(client, tmp_path):
    # given case B06 and its manager
    invoice = b06_invoice()
    manager = MembershipFactory(instance=invoice.instance, role=Role.MANAGER).user
    client.login(username=manager.username, password=PASSWORD)

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)
    (record,) = read_invoice_csv(export(invoice.instance))
    fee, share = records(export(invoice.instance, "xero"))
    run_page = client.get(
        reverse("billing:run", kwargs={"slug": "uk", "month": "2026-11"})
    ).content.decode()
    invoice_page = client.get(
        reverse("billing:invoice", kwargs={"slug": "uk", "pk": invoice.pk})
    ).content.decode()

    # then: net 15.03, VAT 3.01, gross 18.04 in every one of them
    assert "Net £15.03 VAT 20% £3.01 Total (GBP) £18.04" in text
    assert (record["net"], record["tax_20.00"], record["gross"]) == (
        Decimal("15.03"),
        Decimal("3.01"),
        Decimal("18.04"),
    )
    assert Decimal(fee["TaxAmount"]) + Decimal(share["TaxAmount"]) == Decimal("3.01")
    assert Decimal(fee["*UnitAmount"]) + Decimal(share["*UnitAmount"]) == Decimal(
        "15.03"
    )
    assert fee["Total"] == "18.04"
    for page in (run_page, invoice_page):
        assert "£15.03" in page
        assert "£3.01" in page
        assert "£18.04" in page


def test_katuma_figures_agree_in_the_spanish_pdf_and_the_csv(tmp_path):
    # given Katuma's invoice with its 0 % capital line
    invoice = katuma_invoice()

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)
    (record,) = read_invoice_csv(export(invoice.instance))

    # then: the PDF in Spanish formats, the CSV in plain numbers
    assert "Base imponible 165,00 €" in text
    assert "IVA 21 % sobre 65,00 € 13,65 €" in text
    assert "IVA 0 % sobre 100,00 € 0,00 €" in text
    assert "Total IVA 13,65 € Total (EUR) 178,65 €" in text
    assert (record["tax_21.00"], record["tax_0.00"], record["gross"]) == (
        Decimal("13.65"),
        Decimal("0.00"),
        Decimal("178.65"),
    )


def test_yen_figures_agree_in_the_pdf_and_the_csv(tmp_path):
    # given case B12's 3,469 JPY
    japan = InstanceFactory(slug="jp", country="JP", currency="JPY")
    invoice = issued(
        japan,
        number="JP-2026-0001",
        lines=[(1, "Tokyo Hub", "Fixed fee", "1000", "0")],
        tax_rate="0",
        net="3469",
        tax="0",
        gross="3469",
    )

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)
    (record,) = records(export(japan))

    # then
    assert "Total (JPY) ¥3,469" in text
    assert record["gross"] == "3469"


# --- pages ----------------------------------------------------------------------


def login(client, instance, role):
    if role == "admin":
        user = AdminFactory()
    else:
        user = MembershipFactory(instance=instance, role=role).user
    client.login(username=user.username, password=PASSWORD)
    return user


def download(client, export_format="csv", **query):
    url = reverse(
        "billing:export-download", kwargs={"slug": "uk", "export_format": export_format}
    )
    return client.get(url, query or {"month": "2026-11"})


def test_run_page_links_both_exports_of_its_month(client):
    # given
    invoice = b06_invoice()
    login(client, invoice.instance, Role.ACCOUNTANT)

    # when
    page = client.get(reverse("billing:run", kwargs={"slug": "uk", "month": "2026-11"}))

    # then
    html = page.content.decode()
    assert 'href="/instances/uk/billing/exports/csv.csv?month=2026-11"' in html
    assert 'href="/instances/uk/billing/exports/xero.csv?month=2026-11"' in html


@pytest.mark.parametrize(
    ("role", "email"),
    [
        (Role.MANAGER, "potato.eggplant@vegetables.com"),
        ("admin", "potato.eggplant@vegetables.com"),
        (Role.ACCOUNTANT, "p***@vegetables.com"),
    ],
    ids=["manager", "admin", "accountant"],
)
def test_export_download_sends_the_file_with_email_masked_by_role(client, role, email):
    # given
    invoice = b06_invoice()
    login(client, invoice.instance, role)

    # when
    response = download(client, "xero")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == 'attachment; filename="uk-xero-2026-11.csv"'
    )
    assert response.content[:3] == BOM
    assert records(response.content)[0]["EmailAddress"] == email


def test_export_download_by_issue_dates_names_the_range(client):
    # given
    invoice = b06_invoice()
    login(client, invoice.instance, Role.ACCOUNTANT)

    # when
    response = download(client, issued_from="2026-12-01", issued_to="2026-12-31")

    # then
    assert response["Content-Disposition"] == (
        'attachment; filename="uk-invoices-2026-12-01_2026-12-31.csv"'
    )
    assert [r["number"] for r in records(response.content)] == ["UK-2026-0001"]


def test_export_download_answers_400_with_the_reason_for_a_bad_request(client):
    # given
    invoice = b06_invoice()
    login(client, invoice.instance, Role.MANAGER)

    # when
    empty = client.get(
        reverse(
            "billing:export-download", kwargs={"slug": "uk", "export_format": "csv"}
        )
    )
    bad_month = download(client, month="2026-13")

    # then
    assert empty.status_code == 400
    assert b"Choose a month or an issue-date range" in empty.content
    assert bad_month.status_code == 400
    assert b"write it as YYYY-MM" in bad_month.content


def test_export_download_answers_404_to_an_unknown_format_and_to_outsiders(client):
    # given an instance and a manager of another one
    b06_invoice()
    login(client, InstanceFactory(slug="es"), Role.MANAGER)

    # when
    outsider = download(client)

    # then
    assert outsider.status_code == 404
    client.logout()
    login(client, Invoice.objects.get().instance, Role.MANAGER)
    assert download(client, "pdf").status_code == 404


def test_export_download_reads_a_bounded_number_of_queries(
    client, django_assert_max_num_queries
):
    # given 30 invoices of two lines each
    instance = uk_instance()
    for n in range(1, 31):
        issued(
            instance,
            number=f"UK-2026-{n:04d}",
            lines=[
                (n, f"Shop {n}", "Fee", "1.00", "0"),
                (n, f"Shop {n}", "Share", "2.00", "0"),
            ],
        )
    login(client, instance, Role.MANAGER)

    # when / then: session, user, instance, role, invoices, lines, issuer
    with django_assert_max_num_queries(7):
        response = download(client, "xero")
    assert len(records(response.content)) == 60


def test_exports_page_shows_the_form_to_an_accountant(client):
    # given
    invoice = b06_invoice()
    login(client, invoice.instance, Role.ACCOUNTANT)

    # when
    page = client.get(reverse("billing:exports", kwargs={"slug": "uk"}))

    # then
    assert page.status_code == 200
    assert b'data-test="export-form"' in page.content
    assert b'formaction="/instances/uk/billing/exports/xero.csv"' in page.content


# --- the command ----------------------------------------------------------------


def test_export_invoices_writes_the_csv_to_standard_output():
    # given
    b06_invoice()
    out = io.StringIO()

    # when
    call_command("export_invoices", "uk", "--month", "2026-11", stdout=out)

    # then
    text = out.getvalue()
    assert text.startswith("\ufeffnumber,kind,")
    assert "UK-2026-0001,invoice,,2026-12-01,2026-12-31,2026-11," in text
    assert ",15.03,15.03,3.01,3.01,18.04,GBP,finalised\r\n" in text


def test_export_invoices_writes_the_xero_file_to_a_file(tmp_path):
    # given
    b06_invoice()
    target = tmp_path / "xero.csv"

    # when
    call_command(
        "export_invoices",
        "uk",
        "--format",
        "xero",
        "--from",
        "2026-12-01",
        "--to",
        "2026-12-31",
        "--output",
        str(target),
        stderr=io.StringIO(),
    )

    # then
    content = target.read_bytes()
    assert content[:3] == BOM
    assert [line["TaxAmount"] for line in records(content)] == ["2.00", "1.01"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["xero.csv"]


def test_export_invoices_leaves_no_half_written_file_when_writing_fails(
    tmp_path, monkeypatch
):
    # given an earlier export on file and a disk that fails during the write
    b06_invoice()
    target = tmp_path / "invoices.csv"
    target.write_bytes(b"earlier export")

    def fail(descriptor):
        raise OSError("No space left on device")

    monkeypatch.setattr(os, "fsync", fail)

    # when
    with pytest.raises(OSError, match="No space left"):
        call_command(
            "export_invoices", "uk", "--month", "2026-11", "--output", str(target)
        )

    # then: the earlier file is intact and no temporary file is left behind
    assert target.read_bytes() == b"earlier export"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["invoices.csv"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["uk"], "Choose a month or an issue-date range"),
        (["uk", "--month", "11/2026"], "write it as YYYY-MM"),
        (["uk", "--from", "1 Dec"], "write it as YYYY-MM-DD"),
        (["nowhere", "--month", "2026-11"], "No instance 'nowhere'"),
    ],
    ids=["no-period", "bad-month", "bad-date", "unknown-instance"],
)
def test_export_invoices_explains_a_bad_argument_in_one_line(arguments, message):
    # given
    uk_instance()

    # when / then
    with pytest.raises(CommandError, match=message):
        call_command("export_invoices", *arguments)


def test_b06_billed_from_a_replica_agrees_in_pdf_csv_xero_and_run_page(
    pg_replica, client, tmp_path
):
    # given case B06 end to end: a UK shop with May sales of 100.00 + 151.00 = 251.00
    # under a plan of 10.01 a month + 2 % of sales (5.02), VAT 20 % on top
    writer = pg_replica.writer
    writer.user(12, "owner12@example.com", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    writer.enterprise(
        12,
        owner_id=12,
        sells="any",
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    writer.insert_many(
        "spree_orders",
        [
            writer.order_row(
                12000 + n,
                distributor_id=12,
                state="complete",
                completed_at=dt.datetime(2026, 5, 15, 12, tzinfo=dt.UTC),
                total=total,
            )
            for n, total in enumerate(["100.00", "151.00"])
        ],
    )
    pg_replica.commit()
    instance = pg_replica.instance("uk", country="GB")
    PricingPlan.objects.create(
        instance=instance,
        name="Standard",
        effective_from=dt.date(2026, 1, 1),
        fixed_fee=Decimal("10.01"),
        turnover_rate=Decimal("0.02"),
        tax_rate=Decimal("0.20"),
    )
    run = billing_run_execute(instance=instance, month=Month(2026, 5))
    invoice = invoice_finalise(
        invoice=run.invoices.get(),
        as_of=dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC),
    )
    manager = MembershipFactory(instance=instance, role=Role.MANAGER).user
    client.login(username=manager.username, password=PASSWORD)

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)
    (record,) = records(export(instance, month=Month(2026, 5)))
    lines = records(export(instance, "xero", month=Month(2026, 5)))
    page = client.get(
        reverse("billing:run", kwargs={"slug": "uk", "month": "2026-05"})
    ).content.decode()

    # then
    assert invoice.number == "UK-2026-0001"
    assert "Net £15.03 VAT 20% £3.01 Total (GBP) £18.04" in text
    assert "Issue date 1 June 2026" in text
    assert (record["number"], record["issue_date"], record["month"]) == (
        "UK-2026-0001",
        "2026-06-01",
        "2026-05",
    )
    assert (record["net"], record["tax_total"], record["gross"]) == (
        "15.03",
        "3.01",
        "18.04",
    )
    assert sum(Decimal(line["TaxAmount"]) for line in lines) == Decimal("3.01")
    assert sum(Decimal(line["*UnitAmount"]) for line in lines) == Decimal("15.03")
    assert {line["Total"] for line in lines} == {"18.04"}
    assert all(amount in page for amount in ("£15.03", "£3.01", "£18.04"))
