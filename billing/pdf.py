"""Invoice PDFs: rendered from a Django template with WeasyPrint, never over a network.

Every URL in a PDF template is resolved by `PortalAssetFetcher`: static files through
the staticfiles finders (then STATIC_ROOT), media files under MEDIA_ROOT, and anything
else refused. A refused or missing asset stops the render with a PdfRenderError
instead of leaving a silent blank in a document someone will pay from (case W04).
"""

import logging
import mimetypes
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils._os import safe_join
from django.utils.text import get_valid_filename
from django.utils.translation import gettext
from weasyprint.urls import FatalURLFetchingError, URLFetcherResponse

from portal.audit import audit_record
from portal.exceptions import PdfRenderError
from portal.formats import date_display, locale_for, money_display, percent_display
from portal.money import ZERO
from portal.periods import Month

from .exports.figures import invoice_tax_rows
from .models import Invoice, InvoiceLine, IssuerProfile
from .services.parties import issuer_snapshot

logger = logging.getLogger(__name__)

# Relative and root-relative URLs in PDF templates resolve against this made-up
# origin; `.invalid` never resolves (RFC 2606) and the fetcher maps it to files
# without opening a connection.
PDF_BASE_URL = "https://ofn-portal.invalid/"
INVOICE_TEMPLATE = "billing/invoice_pdf.html"
# Characters the invoices of OFN's instances need; a font that lacks one would print
# an empty box in place of a shop's name or a price (case W03).
FONT_SAMPLE = "£ € ñ ç ü ß Ł"
FONT_PACKAGE = "fonts-dejavu-core"
# Payment terms printed when no issuer profile says otherwise (the model's default).
DEFAULT_PAYMENT_TERMS_DAYS = 30


class PortalAssetFetcher(weasyprint.URLFetcher):
    """WeasyPrint's URL fetcher, limited to the portal's own static and media files."""

    def __init__(self):
        # A missing or refused asset aborts the render rather than leaving a blank.
        super().__init__(fail_on_errors=True)

    def fetch(self, url, headers=None):
        path = asset_path(url)
        content_type, _ = mimetypes.guess_type(path.name)
        return URLFetcherResponse(
            url,
            body=path.read_bytes(),
            headers={"Content-Type": content_type or "application/octet-stream"},
        )


def asset_path(url: str) -> Path:
    """The file behind a static or media `url`; PdfRenderError for any other URL."""
    parts = urlsplit(urljoin(PDF_BASE_URL, url))
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    for setting, resolve in (
        (settings.STATIC_URL, _static_file),
        (settings.MEDIA_URL, _media_file),
    ):
        prefix = urljoin(PDF_BASE_URL, setting)
        if bare.startswith(prefix):
            relative = posixpath.normpath(unquote(bare.removeprefix(prefix)))
            if relative.startswith(("..", "/")) or relative == ".":
                break
            return resolve(relative)
    raise PdfRenderError(
        f"PDF asset refused: {url} is not a static or media file of the portal; "
        "PDF templates may only use {% static %} and media URLs."
    )


def _static_file(relative: str) -> Path:
    try:
        found = finders.find(relative)
        if found is None and settings.STATIC_ROOT:
            candidate = Path(safe_join(settings.STATIC_ROOT, relative))
            found = candidate if candidate.is_file() else None
    except SuspiciousFileOperation:
        found = None
    if found is None:
        raise PdfRenderError(
            f"PDF asset missing: static file {relative!r} is in no static folder "
            "(check STATICFILES_DIRS, or run collectstatic)."
        )
    return Path(found)


def _media_file(relative: str) -> Path:
    try:
        path = Path(safe_join(settings.MEDIA_ROOT, relative))
    except SuspiciousFileOperation:
        path = None
    if path is None or not path.is_file():
        raise PdfRenderError(
            f"PDF asset missing: media file {relative!r} is not under MEDIA_ROOT."
        )
    return path


def pdf_from_html(*, html: str) -> bytes:
    """Render `html` to PDF bytes with the portal's fetcher; fonts are embedded."""
    _, content = _write(html)
    return content


def _write(html: str) -> tuple[weasyprint.Document, bytes]:
    try:
        document = weasyprint.HTML(
            string=html, base_url=PDF_BASE_URL, url_fetcher=PortalAssetFetcher()
        ).render()
        return document, document.write_pdf()
    except FatalURLFetchingError as error:
        # WeasyPrint wraps the fetcher's error; the user-safe message is the cause's.
        cause = error.__cause__
        if isinstance(cause, PdfRenderError):
            raise cause from None
        raise PdfRenderError(f"PDF asset could not be read: {cause}") from cause


def pdf_font_check() -> None:
    """Fail with ImproperlyConfigured when the PDF fonts lack a glyph of FONT_SAMPLE.

    Renders the sample with the invoice stylesheet, then reads the code points each
    font had to draw as an empty box (.notdef): WeasyPrint records them in
    `Font.missing` as it writes the PDF.
    """
    html = render_to_string("billing/font_check.html", {"sample": FONT_SAMPLE})
    document, _ = _write(html)
    missing = sorted(
        {
            chr(codepoint)
            for font in document.fonts.values()
            for codepoint in getattr(font, "missing", {})
        }
    )
    if missing or not document.fonts:
        raise ImproperlyConfigured(
            "PDF fonts cannot draw "
            f"{' '.join(missing) or FONT_SAMPLE}: install the system package "
            f"{FONT_PACKAGE} (DejaVu Sans) on every machine that renders invoices."
        )


# Rows longer than this may split across pages. WeasyPrint drops the repeated table
# header on a page that continues a row it was told not to split (case W02).
LONG_LINE_CHARACTERS = 1200
LONG_LINE_BREAKS = 15


@dataclass(frozen=True)
class LineRow:
    description: str
    rule: str
    amount: str

    @property
    def is_long(self) -> bool:
        return (
            len(self.rule) > LONG_LINE_CHARACTERS
            or self.rule.count("\n") > LONG_LINE_BREAKS
        )


@dataclass(frozen=True)
class ShopSection:
    """One shop's lines on an invoice, with the figures they were computed from."""

    name: str
    turnover: str
    order_count: int
    billable_days: int
    days_in_month: int
    lines: list[LineRow]
    total: str

    @property
    def is_part_month(self) -> bool:
        return self.billable_days < self.days_in_month


def _shop_sections(
    lines: list[InvoiceLine], money: Callable[[Decimal], str]
) -> list[ShopSection]:
    """Lines grouped by shop, shops in the order of their first line."""
    by_shop: dict[int, list[InvoiceLine]] = {}
    for line in sorted(lines, key=lambda line: line.position):
        by_shop.setdefault(line.enterprise_id, []).append(line)
    sections = []
    for shop_lines in by_shop.values():
        first = shop_lines[0]
        sections.append(
            ShopSection(
                name=first.enterprise_name,
                turnover=money(first.turnover),
                order_count=first.order_count,
                billable_days=first.billable_days,
                days_in_month=first.days_in_month,
                lines=[
                    LineRow(line.description, line.rule, money(line.amount))
                    for line in shop_lines
                ],
                total=money(sum((line.amount for line in shop_lines), ZERO)),
            )
        )
    return sections


# Countries whose sales tax is called VAT (the EU's, the UK's and their neighbours')
# or GST; elsewhere the invoice says "Tax". Each name is translated in the catalogs.
VAT_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB",
        "GR", "HR", "HU", "IE", "IS", "IT", "LT", "LU", "LV", "MT", "NL", "NO", "PL",
        "PT", "RO", "SE", "SI", "SK", "ZA",
    }
)  # fmt: skip
GST_COUNTRIES = frozenset({"AU", "CA", "IN", "NZ", "SG"})
# The draft watermark is drawn as outlines (no text in the PDF), one file per language
# with a catalog; any other language gets the English "DRAFT".
WATERMARK_LANGUAGES = frozenset({"es", "fr", "ca"})


def tax_name(country: str) -> str:
    """The name of the sales tax in `country`, in the active language."""
    if country in VAT_COUNTRIES:
        return gettext("VAT")
    if country in GST_COUNTRIES:
        return gettext("GST")
    return gettext("Tax")


@dataclass(frozen=True)
class TaxLine:
    """One rate's tax in the totals block: "VAT 21% on 65,00 €   13,65 €"."""

    rate: str
    base: str
    amount: str


@dataclass(frozen=True)
class Party:
    """A name and the details printed under it (issuer or billing subject)."""

    name: str
    address: str = ""
    tax_id: str = ""
    email: str = ""
    bank_details: str = ""


def _issuer(invoice: Invoice) -> tuple[Party, int]:
    """Who issues the invoice and their payment terms in days.

    A draft prints the current profile; an issued invoice the details it was issued
    with (its snapshot), or the current profile when it predates snapshots.
    """
    snapshot = invoice.issuer or {}
    if invoice.is_draft or not snapshot:
        profile = IssuerProfile.objects.filter(instance=invoice.instance).first()
        snapshot = issuer_snapshot(profile) if profile else snapshot
    party = Party(
        name=snapshot.get("legal_name") or invoice.instance.name,
        address=snapshot.get("address", ""),
        tax_id=snapshot.get("tax_id", ""),
        email=snapshot.get("email", ""),
        bank_details=snapshot.get("bank_details", ""),
    )
    return party, snapshot.get("payment_terms_days", DEFAULT_PAYMENT_TERMS_DAYS)


def _title(invoice: Invoice) -> str:
    credit = invoice.kind == Invoice.Kind.CREDIT_NOTE
    if invoice.is_draft:
        return gettext("Draft credit note") if credit else gettext("Draft invoice")
    return gettext("Credit note") if credit else gettext("Invoice")


def invoice_pdf_context(*, invoice: Invoice) -> dict:
    """What the invoice template shows, in the active language and the instance's
    number and date formats (invoice_pdf_html activates the instance's language)."""
    instance = invoice.instance
    locale = locale_for(instance.language, instance.country)

    def money(amount: Decimal) -> str:
        return money_display(amount, invoice.currency, locale=locale)

    def day(value) -> str:
        return date_display(value, locale=locale)

    month = Month.from_date(invoice.month)
    issuer, payment_terms_days = _issuer(invoice)
    taxes = invoice_tax_rows(invoice)
    name = tax_name(instance.country)
    credited = invoice.credited_invoice
    return {
        "instance": instance,
        "invoice": invoice,
        "is_draft": invoice.is_draft,
        "is_credit_note": invoice.kind == Invoice.Kind.CREDIT_NOTE,
        "title": _title(invoice),
        "language": locale.language,
        "watermark": (
            f"billing/draft-watermark-{locale.language}.svg"
            if locale.language in WATERMARK_LANGUAGES
            else "billing/draft-watermark.svg"
        ),
        "reference": invoice.number or gettext("Draft"),
        "issuer": issuer,
        "subject": Party(
            name=invoice.subject_name,
            address=invoice.subject_address,
            tax_id=invoice.subject_tax_id,
        ),
        "credited_number": credited.number if credited is not None else "",
        "issued_on": day(invoice.issued_on),
        "due_on": day(invoice.due_on),
        "payment_terms_days": payment_terms_days,
        "period": f"{day(month.first_day)} – {day(month.last_day)}",
        "shops": _shop_sections(list(invoice.lines.all()), money),
        "net": money(invoice.net),
        "tax_name": name,
        "tax_lines": [
            TaxLine(
                rate=percent_display(row.rate, locale=locale),
                base=money(row.net),
                amount=money(row.tax),
            )
            for row in reversed(taxes)
        ],
        "tax": money(invoice.tax),
        "gross": money(invoice.gross),
        "tax_rate": percent_display(invoice.tax_rate, locale=locale),
    }


def invoice_pdf_html(*, invoice: Invoice) -> str:
    """The invoice's HTML in the instance's language; reads, never writes."""
    instance = invoice.instance
    with translation.override(locale_for(instance.language).language):
        return render_to_string(INVOICE_TEMPLATE, invoice_pdf_context(invoice=invoice))


def invoice_pdf_bytes(*, invoice: Invoice) -> bytes:
    """The invoice as PDF bytes; reads the invoice and its lines, writes nothing."""
    return pdf_from_html(html=invoice_pdf_html(invoice=invoice))


def invoice_pdf_name(invoice: Invoice) -> str:
    """Where an invoice's PDF is stored: the same name for the same figures."""
    stem = get_valid_filename(invoice.number or f"draft-{invoice.pk}")
    return (
        f"invoices/{invoice.instance.slug}/{invoice.month:%Y-%m}/"
        f"{stem}-{invoice.content_hash[:12]}.pdf"
    )


def invoice_render_pdf(*, invoice: Invoice) -> None:
    """Render `invoice` to its PDF file and record the outcome on the invoice.

    A failure leaves the invoice "render failed" with a one-line reason, then
    re-raises so the task can retry. A render overtaken by a recompute or a
    finalisation is discarded: the newer state queues its own render.
    """
    started = _render_state(invoice)
    invoice.pdf_status = Invoice.PdfStatus.RENDERING
    invoice.pdf_error = ""
    invoice.save(update_fields=["pdf_status", "pdf_error", "updated_at"])
    try:
        name = _pdf_store(invoice, invoice_pdf_bytes(invoice=invoice))
    except Exception as error:
        _pdf_failed(invoice, error)
        raise
    if _pdf_attach(invoice, name=name, started=started):
        logger.info("Invoice PDF rendered", extra=_log(invoice))
    else:
        logger.info("Invoice PDF outdated before it was saved", extra=_log(invoice))


def _render_state(invoice: Invoice) -> tuple:
    """What a PDF shows besides its lines: a change means the PDF is outdated."""
    return (invoice.content_hash, invoice.status, invoice.number)


def _pdf_attach(invoice: Invoice, *, name: str, started: tuple) -> bool:
    """Point the invoice at its new file, unless the invoice changed meanwhile."""
    storage = invoice.pdf.storage
    with transaction.atomic():
        current = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if _render_state(current) != started:
            if name != current.pdf.name:
                storage.delete(name)
            return False
        previous = current.pdf.name
        current.pdf.name = name
        current.pdf_status = Invoice.PdfStatus.RENDERED
        current.pdf_error = ""
        current.pdf_rendered_at = timezone.now()
        fields = ["pdf", "pdf_status", "pdf_error", "pdf_rendered_at", "updated_at"]
        current.save(update_fields=fields)
        audit_record(
            action="invoice.pdf_rendered",
            target=current,
            instance=current.instance,
            details={"pdf": name},
        )
    # Only a draft's old file goes: a finalised invoice keeps every PDF it was given.
    if previous and previous != name and current.status == Invoice.Status.DRAFT:
        storage.delete(previous)
    invoice.refresh_from_db(fields=fields)
    return True


def _pdf_store(invoice: Invoice, content: bytes) -> str:
    storage = invoice.pdf.storage
    name = invoice_pdf_name(invoice)
    if invoice.status == Invoice.Status.DRAFT and storage.exists(name):
        storage.delete(name)
    # A finalised invoice's file is never overwritten: the storage picks a new name.
    return storage.save(name, ContentFile(content))


def _pdf_failed(invoice: Invoice, error: Exception) -> None:
    reason = " ".join(f"{type(error).__name__}: {error}".split())[:500]
    invoice.pdf_status = Invoice.PdfStatus.FAILED
    invoice.pdf_error = reason
    with transaction.atomic():
        invoice.save(update_fields=["pdf_status", "pdf_error", "updated_at"])
        audit_record(
            action="invoice.pdf_failed",
            target=invoice,
            instance=invoice.instance,
            reason=reason,
        )
    logger.warning(
        "Invoice PDF render failed", extra={**_log(invoice), "error": reason}
    )


def _log(invoice: Invoice) -> dict:
    return {
        "instance": invoice.instance.slug,
        "invoice": invoice.pk,
        "month": f"{invoice.month:%Y-%m}",
    }
