"""Invoice PDFs: glyphs, embedded fonts, figures and dates (W02-W04, B06, B19)."""

import datetime as dt
import socket
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.template import engines

from billing import pdf
from billing.models import Invoice, IssuerProfile
from billing.page_selectors import billing_run_summary_list
from billing.pdf import (
    PortalAssetFetcher,
    asset_path,
    invoice_pdf_bytes,
    invoice_render_pdf,
    pdf_font_check,
    pdf_from_html,
)
from portal.exceptions import PdfRenderError
from portal.models import AuditEvent
from tests.billing.factories import (
    BillingRunFactory,
    InvoiceFactory,
    InvoiceLineFactory,
)
from tests.instances.factories import InstanceFactory

NOVEMBER = dt.date(2026, 11, 1)
GLYPHS = ["£", "€", "ñ", "ç", "ü", "ß", "Ł"]


def pdf_text(content: bytes, tmp_path: Path, *pages: int) -> str:
    """The PDF's text, row by row as laid out, spaces of every kind made plain."""
    path = tmp_path / "invoice.pdf"
    path.write_bytes(content)
    page_args = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    text = subprocess.run(  # noqa: S603 - fixed tool, test-owned file
        ["/usr/bin/pdftotext", "-layout", "-enc", "UTF-8", *page_args, str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def poppler(tool: str, content: bytes, tmp_path: Path, *args: str) -> list[str]:
    path = tmp_path / "tool.pdf"
    path.write_bytes(content)
    return subprocess.run(  # noqa: S603 - fixed tool, test-owned file
        [f"/usr/bin/{tool}", *args, str(path)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.splitlines()


def line(invoice, position, name, shop_id, **fields):
    return InvoiceLineFactory(
        invoice=invoice,
        position=position,
        enterprise_name=name,
        enterprise_id=shop_id,
        days_in_month=30,
        **fields,
    )


def gbp_invoice(**fields) -> Invoice:
    """Two UK shops, one of them for 23 of November's 30 days; 20 % tax on top.

    Müller & Söhne: 10.01 + 2 % of 251.00 (5.02) = 15.03.
    Ñandú Łódź Çava: 10.00 x 23/30 (7.6667 -> 7.67) + 2 % of 1,234.50 (24.69) = 32.36.
    Net 47.39; tax 20 % of 47.39 = 9.478 -> 9.48 (once, on the net); gross 56.87.
    """
    uk = InstanceFactory(
        slug="uk", name="Open Food Network UK", country="GB", currency="GBP"
    )
    invoice = InvoiceFactory(
        run=BillingRunFactory(instance=uk, month=NOVEMBER),
        subject_name="Peña Straße Façade Ltd",
        net="47.39",
        tax="9.48",
        gross="56.87",
        **fields,
    )
    for position, (name, shop_id, days, turnover, description, amount) in enumerate(
        [
            ("Müller & Söhne", 1, 30, "251.00", "Fixed fee", "10.01"),
            ("Müller & Söhne", 1, 30, "251.00", "Share of turnover", "5.02"),
            ("Ñandú Łódź Çava", 2, 23, "1234.50", "Fixed fee", "7.67"),
            ("Ñandú Łódź Çava", 2, 23, "1234.50", "Share of turnover", "24.69"),
        ],
        1,
    ):
        line(
            invoice,
            position,
            name,
            shop_id,
            billable_days=days,
            turnover=turnover,
            description=description,
            rule=f"Rule of {description.lower()} for {name}.",
            amount=amount,
        )
    return invoice


def eur_invoice() -> Invoice:
    """Case B19 at ES 21 %, prices including tax: 13.90 + 7.45 = 21.35 gross.

    Tax = 21.35 - 21.35 / 1.21 = 3.7054 -> 3.71; net 17.64; the gross never moves.
    """
    es = InstanceFactory(
        slug="es",
        name="Katuma",
        country="ES",
        language="es",
        currency="EUR",
        time_zone="Europe/Madrid",
    )
    invoice = InvoiceFactory(
        run=BillingRunFactory(instance=es, month=NOVEMBER),
        subject_name="Cooperativa Peña",
        tax_rate="0.21",
        prices_include_tax=True,
        net="17.64",
        tax="3.71",
        gross="21.35",
    )
    line(invoice, 1, "Ñandú Łódź Çava", 7, amount="13.90", billable_days=30)
    line(invoice, 2, "Müller & Söhne", 8, amount="7.45", billable_days=30)
    return invoice


@pytest.mark.django_db
def test_invoice_pdf_bytes_prints_every_glyph_of_both_currencies(tmp_path):
    # given
    invoices = [gbp_invoice(), eur_invoice()]

    # when
    text = " ".join(
        pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path) for invoice in invoices
    )

    # then
    assert [glyph for glyph in GLYPHS if glyph not in text] == []
    assert "Müller & Söhne" in text
    assert "Ñandú Łódź Çava" in text


@pytest.mark.django_db
def test_invoice_pdf_bytes_shows_a_draft_gbp_invoice_worked_out_by_hand(tmp_path):
    # given
    invoice = gbp_invoice()

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)

    # then
    assert "DRAFT – not a valid invoice" in text
    assert "Open Food Network UK" in text
    assert "Peña Straße Façade Ltd" in text
    assert "1 November 2026 – 30 November 2026" in text
    assert "Turnover £1,234.50" in text
    assert "billable 23 of 30 days" in text
    assert "Rule of share of turnover for Ñandú Łódź Çava." in text
    assert "Total for Müller & Söhne £15.03" in text
    assert "Total for Ñandú Łódź Çava £32.36" in text
    assert "Net £47.39 VAT 20% £9.48 Total (GBP) £56.87" in text
    assert "Invoice number DRAFT" in text
    assert "Due date 30 days after issue" in text


@pytest.mark.django_db
def test_invoice_pdf_bytes_shows_a_tax_inclusive_eur_invoice_in_spanish(tmp_path):
    # given
    invoice = eur_invoice()

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)

    # then
    assert "1 de noviembre de 2026 – 30 de noviembre de 2026" in text
    assert "Importes en EUR, IVA del 21 % incluido" in text
    assert "13,90 €" in text
    assert "Base imponible 17,64 € IVA 21 % 3,71 € Total (EUR) 21,35 €" in text


@pytest.mark.django_db
def test_invoice_pdf_bytes_shows_the_number_and_no_draft_mark_once_finalised(
    tmp_path,
):
    # given
    invoice = gbp_invoice(status=Invoice.Status.FINALISED, number="UK-2026-0001")

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)

    # then
    assert "Invoice number UK-2026-0001" in text
    assert "Open Food Network UK · UK-2026-0001 · Peña Straße Façade Ltd" in text
    assert "DRAFT" not in text
    assert "Draft" not in text


@pytest.mark.django_db
def test_invoice_pdf_bytes_embeds_every_font(tmp_path):
    # given
    invoice = gbp_invoice()

    # when
    rows = poppler("pdffonts", invoice_pdf_bytes(invoice=invoice), tmp_path)[2:]

    # then: columns end with emb, sub, uni, object, generation
    assert rows
    assert {row.split()[-5] for row in rows} == {"yes"}
    assert all("DejaVu" in row for row in rows)


@pytest.mark.django_db
@pytest.mark.parametrize("reason_lines", [45, 120], ids=["fits-a-page", "taller"])
def test_invoice_pdf_bytes_repeats_both_header_rows_on_every_page(
    tmp_path, reason_lines
):
    # given case W02: 60 lines, one of them explained in many lines
    invoice = InvoiceFactory(net="600.00", tax="120.00", gross="720.00")
    for position in range(1, 61):
        rule = f"Rule {position}."
        if position == 30:
            reasons = (f"Reason line {n}." for n in range(1, reason_lines + 1))
            rule = "\n".join(reasons) + " THE END."
        line(invoice, position, f"Shop {position}", position, rule=rule, amount="10")

    # when
    content = invoice_pdf_bytes(invoice=invoice)
    info = poppler("pdfinfo", content, tmp_path)
    pages = int(next(row for row in info if row.startswith("Pages")).split()[-1])
    texts = [pdf_text(content, tmp_path, page) for page in range(1, pages + 1)]

    # then: every page with line items starts them under both header rows
    assert pages > 2
    for text in texts:
        if "Shop " in text or "Reason line" in text:
            assert "Charge How it was worked out Amount Amounts in GBP" in text
    everything = " ".join(texts)
    assert everything.count("Reason line") == reason_lines
    assert f"Reason line {reason_lines}. THE END." in everything
    assert everything.index("Total for Shop 60") < everything.index("Total (GBP)")
    assert "£720.00" in texts[-1]


def test_asset_fetcher_refuses_an_http_url():
    # when / then
    with pytest.raises(PdfRenderError, match="refused"):
        PortalAssetFetcher().fetch("http://example.com/logo.png")


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/static/billing/invoice.css",
        "file:///etc/passwd",
        "/static/../../etc/passwd",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "ftp://example.com/x.png",
    ],
    ids=["other-origin", "file", "static-traversal", "media-traversal", "ftp"],
)
def test_asset_path_refuses_anything_but_static_and_media(url):
    # when / then
    with pytest.raises(PdfRenderError):
        asset_path(url)


def test_asset_path_maps_static_and_media_urls_to_files(settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "shop 1.png").write_bytes(b"png")

    # when
    static = asset_path("/static/billing/invoice.css")
    media = asset_path("/media/logos/shop%201.png?v=2")

    # then
    assert static.name == "invoice.css"
    assert static.is_file()
    assert media == tmp_path / "logos" / "shop 1.png"


def test_asset_path_names_a_missing_static_file():
    # when / then
    with pytest.raises(PdfRenderError, match="billing/nope.png"):
        asset_path("/static/billing/nope.png")


@pytest.fixture
def no_network(monkeypatch):
    """Records, and refuses, every attempt to resolve a name or open a socket."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access in a PDF render")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def test_pdf_from_html_with_an_external_image_fails_without_fetching(no_network):
    # given
    html = '<p>Logo</p><img src="http://example.com/logo.png">'

    # when
    with pytest.raises(PdfRenderError, match="example.com"):
        pdf_from_html(html=html)

    # then
    assert no_network == []


def png_pixel() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x2f\x6b\x4f"))
        + chunk(b"IEND", b"")
    )


def test_pdf_from_html_draws_static_and_media_images_offline(
    settings, tmp_path, no_network
):
    # given case W04: a static logo and a shop logo from media storage
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "logo.png").write_bytes(png_pixel())
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "shop.png").write_bytes(png_pixel())
    settings.STATICFILES_DIRS = [tmp_path / "static"]
    settings.MEDIA_ROOT = tmp_path / "media"
    template = engines["django"].from_string(
        "{% load static %}<img src=\"{% static 'logo.png' %}\">"
        '<img src="{{ media_url }}shop.png">'
    )

    # when
    content = pdf_from_html(html=template.render({"media_url": settings.MEDIA_URL}))

    # then
    assert len(poppler("pdfimages", content, tmp_path, "-list")[2:]) == 2
    assert no_network == []


def test_pdf_from_html_fails_on_a_missing_media_file(settings, tmp_path):
    # given
    settings.MEDIA_ROOT = tmp_path

    # when / then
    with pytest.raises(PdfRenderError, match="gone.png"):
        pdf_from_html(html='<img src="/media/gone.png">')


def test_pdf_font_check_passes_with_dejavu_installed():
    # when / then: no exception
    pdf_font_check()


def test_pdf_font_check_names_the_font_package_when_a_glyph_is_missing(monkeypatch):
    # given a character no font has (U+0378 is unassigned)
    monkeypatch.setattr(pdf, "FONT_SAMPLE", "£ \u0378")

    # when / then
    with pytest.raises(ImproperlyConfigured, match="fonts-dejavu-core"):
        pdf_font_check()


@pytest.fixture
def own_media(settings, tmp_path):
    """A media folder of the test's own: the shared one keeps files run to run."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC), tick=False)
def test_invoice_render_pdf_stores_the_file_under_a_stable_name(own_media):
    # given
    invoice = gbp_invoice()

    # when rendered twice with the same figures
    invoice_render_pdf(invoice=invoice)
    first = invoice.pdf.name
    invoice_render_pdf(invoice=invoice)

    # then
    invoice.refresh_from_db()
    assert invoice.pdf.name == first
    assert (
        first
        == f"invoices/uk/2026-11/draft-{invoice.pk}-{invoice.content_hash[:12]}.pdf"
    )
    assert invoice.pdf_status == Invoice.PdfStatus.RENDERED
    assert invoice.pdf_error == ""
    assert invoice.pdf_rendered_at == dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
    assert invoice.pdf.open("rb").read(5) == b"%PDF-"
    assert sorted(p.name for p in Path(invoice.pdf.path).parent.iterdir()) == [
        Path(first).name
    ]
    assert AuditEvent.objects.filter(action="invoice.pdf_rendered").count() == 2


@pytest.mark.django_db
def test_invoice_render_pdf_records_a_failure_and_reraises(monkeypatch):
    # given a render that fails with a multi-line message
    invoice = gbp_invoice()

    def fail(**kwargs):
        raise PdfRenderError("PDF asset missing: logo.png\nsecond line")

    monkeypatch.setattr(pdf, "invoice_pdf_bytes", fail)

    # when
    with pytest.raises(PdfRenderError):
        invoice_render_pdf(invoice=invoice)

    # then
    invoice.refresh_from_db()
    assert invoice.pdf_status == Invoice.PdfStatus.FAILED
    assert (
        invoice.pdf_error == "PdfRenderError: PDF asset missing: logo.png second line"
    )
    assert not invoice.pdf
    assert AuditEvent.objects.filter(action="invoice.pdf_failed").count() == 1


@pytest.mark.django_db
def test_invoice_render_pdf_discards_a_render_overtaken_by_a_recompute(
    monkeypatch, own_media
):
    # given a recompute that changes the figures while the PDF renders
    invoice = gbp_invoice()
    real_bytes = pdf.invoice_pdf_bytes

    def render_then_recompute(**kwargs):
        content = real_bytes(**kwargs)
        Invoice.objects.filter(pk=invoice.pk).update(
            content_hash="f" * 64, pdf_status=Invoice.PdfStatus.PENDING
        )
        return content

    monkeypatch.setattr(pdf, "invoice_pdf_bytes", render_then_recompute)

    # when
    invoice_render_pdf(invoice=invoice)

    # then: the newer figures wait for their own render; no stale file is kept
    invoice.refresh_from_db()
    assert invoice.pdf_status == Invoice.PdfStatus.PENDING
    assert not invoice.pdf
    assert not invoice.pdf.storage.exists(pdf.invoice_pdf_name(invoice))


@pytest.mark.django_db
def test_invoice_render_pdf_keeps_the_files_of_a_finalised_invoice(own_media):
    # given a finalised invoice whose earlier PDF is on file
    invoice = gbp_invoice(status=Invoice.Status.FINALISED, number="UK-2026-0001")
    invoice.pdf.save("earlier.pdf", ContentFile(b"%PDF-sent"))
    earlier = invoice.pdf.name

    # when
    invoice_render_pdf(invoice=invoice)
    again = Invoice.objects.get(pk=invoice.pk)
    invoice_render_pdf(invoice=again)

    # then: neither the earlier file nor the first render is overwritten
    assert invoice.pdf.storage.open(earlier).read() == b"%PDF-sent"
    assert again.pdf.name != invoice.pdf.name
    assert invoice.pdf.storage.exists(invoice.pdf.name)
    assert again.pdf.name.startswith("invoices/uk/2026-11/UK-2026-0001-")


ISSUER = {
    "legal_name": "Open Food Network UK CIC",
    "address": "1 Market Street\nLeeds LS1 1AA",
    "tax_id": "GB123456789",
    "email": "billing@openfoodnetwork.org.uk",
    "bank_details": "Sort code 12-34-56\nAccount 12345678",
    "payment_terms_days": 30,
}


@pytest.mark.django_db
def test_invoice_pdf_bytes_prints_issuer_subject_dates_and_how_to_pay(tmp_path):
    # given a finalised invoice with its issuer snapshot and the subject's details
    invoice = gbp_invoice(
        status=Invoice.Status.FINALISED,
        number="UK-2026-0001",
        issued_on=dt.date(2026, 12, 1),
        due_on=dt.date(2026, 12, 31),
        issuer=ISSUER,
        subject_address="2 Farm Lane\nYork YO1 2BB",
        subject_tax_id="GB987654321",
        subject_email="potato.eggplant@vegetables.com",
    )

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)

    # then
    for phrase in [
        "Open Food Network UK CIC",
        "1 Market Street",
        "Leeds LS1 1AA",
        "Tax ID: GB123456789",
        "2 Farm Lane",
        "York YO1 2BB",
        "Tax ID: GB987654321",
        "Invoice number UK-2026-0001",
        "Issue date 1 December 2026",
        "Due date 31 December 2026",
        "Please pay £56.87 by 31 December 2026. Please quote UK-2026-0001",
        "Sort code 12-34-56",
        "Account 12345678",
        "Questions about this document: billing@openfoodnetwork.org.uk",
    ]:
        assert phrase in text
    # The subject's own address is personal data an invoice does not need.
    assert "eggplant" not in text


@pytest.mark.django_db
def test_invoice_pdf_bytes_of_a_draft_prints_the_current_issuer_profile(tmp_path):
    # given a draft written before the issuer profile was filled in
    invoice = gbp_invoice(issuer={})
    IssuerProfile.objects.create(
        instance=invoice.instance,
        legal_name="Open Food Network UK CIC",
        payment_terms_days=14,
    )

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)

    # then
    assert text.startswith("Open Food Network UK CIC Draft invoice")
    assert "Due date 14 days after issue" in text
    assert "Payment is due 14 days after the issue date." in text


@pytest.mark.django_db
def test_invoice_pdf_bytes_of_a_finalised_invoice_keeps_its_issuer_snapshot(tmp_path):
    # given an issuer renamed after the invoice was finalised
    invoice = gbp_invoice(
        status=Invoice.Status.FINALISED, number="UK-2026-0001", issuer=ISSUER
    )
    IssuerProfile.objects.create(instance=invoice.instance, legal_name="Renamed Ltd")

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=invoice), tmp_path)

    # then
    assert "Open Food Network UK CIC" in text
    assert "Renamed Ltd" not in text


@pytest.mark.django_db
def test_invoice_pdf_bytes_of_a_credit_note_names_the_credited_invoice(tmp_path):
    # given case B06's invoice credited in full: every figure negated
    invoice = gbp_invoice(status=Invoice.Status.CREDITED, number="UK-2026-0001")
    credit = InvoiceFactory(
        run=invoice.run,
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=invoice,
        status=Invoice.Status.FINALISED,
        number="UK-CN-2026-0001",
        subject_key=invoice.subject_key,
        subject_name=invoice.subject_name,
        issued_on=dt.date(2026, 12, 5),
        net="-47.39",
        tax="-9.48",
        gross="-56.87",
    )
    line(credit, 1, "Müller & Söhne", 1, amount="-47.39", billable_days=30)

    # when
    text = pdf_text(invoice_pdf_bytes(invoice=credit), tmp_path)

    # then
    assert "Credit note" in text
    assert "Credit note number UK-CN-2026-0001" in text
    assert "Credits invoice UK-2026-0001" in text
    assert "Issue date 5 December 2026" in text
    assert "Net -£47.39 VAT 20% -£9.48 Total (GBP) -£56.87" in text
    assert "This credit note cancels invoice UK-2026-0001" in text
    assert "Please pay" not in text
    assert "Due date" not in text


@pytest.fixture
def w04_template(settings, tmp_path, monkeypatch):
    """An invoice template with a static logo and a shop logo from media storage."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "w04_invoice.html").write_text(
        "{% load static %}<h1>{{ title }} {{ reference }}</h1>"
        "<img src=\"{% static 'w04-logo.png' %}\">"
        '<img src="/media/logos/shop-7.png"><p>{{ gross }}</p>'
    )
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "w04-logo.png").write_bytes(png_pixel())
    (tmp_path / "media" / "logos").mkdir(parents=True)
    (tmp_path / "media" / "logos" / "shop-7.png").write_bytes(png_pixel())
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path / "templates"]},
    ]
    settings.STATICFILES_DIRS = [tmp_path / "static"]
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(pdf, "INVOICE_TEMPLATE", "w04_invoice.html")
    return tmp_path


@pytest.mark.django_db
def test_invoice_render_pdf_draws_a_static_and_a_media_logo_offline(
    w04_template, no_network, tmp_path
):
    # given case W04
    invoice = gbp_invoice()

    # when
    invoice_render_pdf(invoice=invoice)

    # then
    invoice.refresh_from_db()
    assert invoice.pdf_status == Invoice.PdfStatus.RENDERED
    content = invoice.pdf.open("rb").read()
    assert len(poppler("pdfimages", content, tmp_path, "-list")[2:]) == 2
    assert "£56.87" in pdf_text(content, tmp_path)
    assert no_network == []


@pytest.mark.django_db
def test_invoice_render_pdf_with_a_missing_logo_fails_into_the_review_queue(
    w04_template, no_network
):
    # given case W04 with the shop's logo gone from media storage
    invoice = gbp_invoice()
    (w04_template / "media" / "logos" / "shop-7.png").unlink()

    # when
    with pytest.raises(PdfRenderError, match="logos/shop-7.png"):
        invoice_render_pdf(invoice=invoice)

    # then: not a silent blank, but a failed render the run page counts
    invoice.refresh_from_db()
    assert invoice.pdf_status == Invoice.PdfStatus.FAILED
    assert invoice.pdf_error == (
        "PdfRenderError: PDF asset missing: media file 'logos/shop-7.png' is not "
        "under MEDIA_ROOT."
    )
    assert not invoice.pdf
    run = billing_run_summary_list(instance=invoice.instance).get()
    assert run.failed_pdf_count == 1
    assert no_network == []
