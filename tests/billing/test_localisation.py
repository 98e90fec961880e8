"""Local documents: invoices in the instance's language (en, es, fr, ca) with local
number and date formats, amounts at the currency's minor unit (B12)."""

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation

from billing.models import Invoice, IssuerProfile
from billing.pdf import invoice_pdf_bytes, invoice_pdf_html
from portal.formats import date_display, locale_for, money_display, percent_display
from tests.billing.factories import (
    BillingRunFactory,
    InvoiceFactory,
    InvoiceLineFactory,
)
from tests.instances.factories import InstanceFactory

NOVEMBER = dt.date(2026, 11, 1)
LANGUAGES = ["es", "fr", "ca"]


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


# --- numbers and dates ----------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "language", "country", "shown"),
    [
        ("18.04", "GBP", "en", "GB", "£18.04"),
        ("18500.00", "EUR", "es", "ES", "18.500,00\u00a0€"),
        ("18500.00", "EUR", "fr", "FR", "18\u202f500,00\u00a0€"),
        ("18500.00", "EUR", "ca", "ES", "18.500,00\u00a0€"),
        ("3469", "JPY", "en", "JP", "¥3,469"),
        ("3469.4", "JPY", "en", "JP", "¥3,469"),
        ("24.69134", "BHD", "en", "", "BHD24.691"),
        ("-60.325", "GBP", "en", "GB", "-£60.33"),
        # CLDR writes the Iraqi dinar without decimals; ISO 4217 (and rule 5) has 3.
        ("1234.5675", "IQD", "en", "", "IQD1,234.568"),
    ],
    ids=[
        "gbp",
        "eur-es",
        "eur-fr",
        "eur-ca",
        "jpy",
        "jpy-rounded",
        "bhd",
        "credit",
        "iqd",
    ],
)
def test_money_display_writes_the_minor_unit_in_the_locales_way(
    amount, currency, language, country, shown
):
    # when / then
    locale = locale_for(language, country)
    assert money_display(Decimal(amount), currency, locale=locale) == shown


@pytest.mark.parametrize(
    ("rate", "language", "shown"),
    [("0.20", "en", "20%"), ("0.21", "es", "21\u00a0%"), ("0.055", "fr", "5,5\u00a0%")],
    ids=["en", "es", "fr-reduced-rate"],
)
def test_percent_display_writes_a_tax_rate_in_the_locales_way(rate, language, shown):
    # when / then
    assert percent_display(Decimal(rate), locale=locale_for(language)) == shown


@pytest.mark.parametrize(
    ("language", "country", "shown"),
    [
        ("en", "GB", "1 November 2026"),
        ("es", "ES", "1 de noviembre de 2026"),
        ("fr", "FR", "1 novembre 2026"),
        ("ca", "ES", "1 de novembre del 2026"),
    ],
    ids=["en", "es", "fr", "ca"],
)
def test_date_display_writes_a_long_local_date(language, country, shown):
    # when / then
    assert date_display(NOVEMBER, locale=locale_for(language, country)) == shown


# --- catalogs -------------------------------------------------------------------


def _text(context):
    """Babel reads a .mo file's message contexts as bytes."""
    return context.decode() if isinstance(context, bytes) else context


def _hashable(value):
    """Plural messages come as a list from .mo files and a tuple from .po files."""
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_its_source(language):
    # given the committed .po and .mo (bin/compile-messages)
    folder = Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES"
    with (folder / "django.po").open("rb") as po_file:
        source = read_po(po_file)
    with (folder / "django.mo").open("rb") as mo_file:
        compiled = read_mo(mo_file)

    # when
    def translated(catalog):
        return {
            (_text(message.context), _hashable(message.id)): _hashable(message.string)
            for message in catalog
            if message.id and message.string and any(message.string)
        }

    # then: every translation is compiled, none left out of date
    assert translated(compiled) == translated(source)
    assert len(translated(source)) >= 40


@pytest.mark.parametrize(
    ("language", "invoice", "credit_note", "vat"),
    [
        ("en", "Invoice", "Credit note", "VAT"),
        ("es", "Factura", "Factura rectificativa", "IVA"),
        ("fr", "Facture", "Avoir", "TVA"),
        ("ca", "Factura", "Factura rectificativa", "IVA"),
    ],
    ids=["en", "es", "fr", "ca"],
)
def test_catalogs_translate_the_invoice_labels(language, invoice, credit_note, vat):
    # when
    with translation.override(language):
        labels = (
            translation.gettext("Invoice"),
            translation.gettext("Credit note"),
            translation.gettext("VAT"),
        )

    # then
    assert labels == (invoice, credit_note, vat)


# --- PDFs -----------------------------------------------------------------------


def local_invoice(language: str, country: str, rate: str, **fields) -> Invoice:
    """A finalised invoice of 65.00 net issued on 1 December 2026, due on the 31st.

    Tax: 65.00 x 21 % = 13.65 (gross 78.65), or x 20 % = 13.00 (gross 78.00).
    """
    instance = InstanceFactory(
        slug=f"ofn-{language}",
        name=f"OFN {language.upper()}",
        country=country,
        language=language,
        currency="EUR",
        time_zone="Europe/Paris",
    )
    IssuerProfile.objects.create(instance=instance, legal_name=f"OFN {language} SCCL")
    tax = (Decimal("65.00") * Decimal(rate)).quantize(Decimal("0.01"))
    values = {
        "status": Invoice.Status.FINALISED,
        "number": f"{language.upper()}-2026-0001",
        "issued_on": dt.date(2026, 12, 1),
        "due_on": dt.date(2026, 12, 31),
        "subject_name": "Huerta Verde",
        "tax_rate": rate,
        "net": "65.00",
        "tax": str(tax),
        "gross": str(Decimal("65.00") + tax),
    }
    values.update(fields)
    invoice = InvoiceFactory(
        run=BillingRunFactory(instance=instance, month=NOVEMBER), **values
    )
    InvoiceLineFactory(
        invoice=invoice, amount=values["net"], tax_rate=rate, days_in_month=30
    )
    return invoice


LOCAL_PDFS = {
    "es": (
        "ES",
        "0.21",
        [
            "OFN es SCCL",
            "Factura",
            "Número de factura ES-2026-0001",
            "Fecha de emisión 1 de diciembre de 2026",
            "Fecha de vencimiento 31 de diciembre de 2026",
            "Periodo 1 de noviembre de 2026 – 30 de noviembre de 2026",
            "Concepto Cómo se ha calculado Importe Importes en EUR, sin IVA",
            "Base imponible 65,00 € IVA 21 % 13,65 € Total (EUR) 78,65 €",
            "Le rogamos que pague 78,65 € antes del 31 de diciembre de 2026.",
            "Página 1 de 1",
        ],
    ),
    "fr": (
        "FR",
        "0.20",
        [
            "OFN fr SCCL",
            "Facture",
            "Numéro de facture FR-2026-0001",
            "Date d’émission 1 décembre 2026",
            "Date d’échéance 31 décembre 2026",
            "Période 1 novembre 2026 – 30 novembre 2026",
            "Prestation Mode de calcul Montant Montants en EUR, hors TVA",
            "Montant HT 65,00 € TVA 20 % 13,00 € Total (EUR) 78,00 €",
            "Merci de régler 78,00 € avant le 31 décembre 2026.",
            "Page 1 sur 1",
        ],
    ),
    "ca": (
        "ES",
        "0.21",
        [
            "OFN ca SCCL",
            "Factura",
            "Número de factura CA-2026-0001",
            "Data d’emissió 1 de desembre del 2026",
            "Data de venciment 31 de desembre del 2026",
            "Període 1 de novembre del 2026 – 30 de novembre del 2026",
            "Concepte Com s’ha calculat Import Imports en EUR, sense IVA",
            "Base imposable 65,00 € IVA 21 % 13,65 € Total (EUR) 78,65 €",
            "Us preguem que pagueu 78,65 € abans del 31 de desembre del 2026.",
            "Pàgina 1 de 1",
        ],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_invoice_pdf_is_written_in_the_instances_language(language, tmp_path):
    # given
    country, rate, phrases = LOCAL_PDFS[language]
    invoice = local_invoice(language, country, rate)

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)

    # then
    assert [phrase for phrase in phrases if phrase not in text] == []
    assert "Invoice" not in text
    assert "Due date" not in text


@pytest.mark.django_db
def test_invoice_pdf_of_a_french_credit_note_names_the_credited_invoice(tmp_path):
    # given a full credit note of the French invoice
    invoice = local_invoice("fr", "FR", "0.20")
    credit = InvoiceFactory(
        run=invoice.run,
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        status=Invoice.Status.FINALISED,
        number="FR-CN-2026-0001",
        issued_on=dt.date(2026, 12, 5),
        due_on=dt.date(2026, 12, 5),
        subject_key=invoice.subject_key,
        subject_name="Huerta Verde",
        tax_rate="0.20",
        net="-65.00",
        tax="-13.00",
        gross="-78.00",
    )
    InvoiceLineFactory(invoice=credit, amount="-65.00", tax_rate="0.20")

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=credit), tmp_path)

    # then
    assert text.startswith("OFN fr SCCL Avoir OFN FR FR-CN-2026-0001")
    assert "Numéro d’avoir FR-CN-2026-0001" in text
    assert "Avoir sur la facture FR-2026-0001" in text
    assert "Montant HT -65,00 € TVA 20 % -13,00 € Total (EUR) -78,00 €" in text
    assert "Cet avoir annule tout ou partie de la facture FR-2026-0001" in text
    assert "Merci de régler" not in text


@pytest.mark.django_db
def test_invoice_pdf_of_a_spanish_draft_says_so_in_spanish(tmp_path):
    # given
    invoice = local_invoice(
        "es", "ES", "0.21", status=Invoice.Status.DRAFT, number=None, issued_on=None
    )

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)
    html = invoice_pdf_html(invoice=invoice)

    # then: the watermark says BORRADOR, drawn as outlines, so not in the text
    assert 'src="/static/billing/draft-watermark-es.svg"' in html
    assert "Borrador de factura" in text
    assert "BORRADOR – no es una factura válida" in text
    assert "Número de factura BORRADOR" in text
    assert "OFN ES · Borrador · Huerta Verde" in text


@pytest.mark.django_db
def test_invoice_pdf_html_leaves_the_active_language_as_it_was():
    # given a Catalan invoice rendered while the portal speaks English
    invoice = local_invoice("ca", "ES", "0.21")

    # when
    with translation.override("en"):
        html = invoice_pdf_html(invoice=invoice)
        after = translation.get_language()

    # then
    assert '<html lang="ca">' in html
    assert after == "en"
