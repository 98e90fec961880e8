import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from portal.formats import money_display
from portal.masking import mask_email
from portal.periods import zone

from .models import Invoice

NUMERIC = {"th": {"class": "numeric"}, "td": {"class": "numeric"}}


class MoneyColumn(tables.Column):
    """An amount in its row's currency, rounded to the currency's minor unit."""

    def __init__(self, **kwargs):
        super().__init__(attrs=NUMERIC, **kwargs)

    def render(self, value, record):
        return money_display(value, record.currency)


# The run page's finalise form; checkboxes sit in the table, outside that form.
FINALISE_FORM_ID = "run-finalise"


def review_flag_text(flag) -> str:
    """A review flag in words; the billing run writes them as text or as a dict."""
    if isinstance(flag, dict):
        return str(flag.get("text") or flag.get("reason") or flag.get("message") or "")
    return str(flag)


def review_flags_html(flags):
    """The "moved" badge and its reasons, or a dash when nothing moved."""
    reasons = [text for text in map(review_flag_text, flags or []) if text]
    if not reasons:
        return "—"
    items = format_html_join("", "<li>{}</li>", ((reason,) for reason in reasons))
    return format_html(
        '<span class="badge badge-moved" data-test="moved-badge" title="{}">moved'
        '</span><ul class="review-reasons" data-test="review-reasons">{}</ul>',
        "; ".join(reasons),
        items,
    )


class InvoiceTable(tables.Table):
    """A run's invoices; rows come from billing.page_selectors.invoice_summary_list."""

    select = tables.Column(
        verbose_name="Select",
        empty_values=(),
        orderable=False,
        accessor="pk",
        attrs={"th": {"class": "select"}, "td": {"class": "select"}},
    )
    subject_name = tables.Column(
        verbose_name="Subject", attrs={"td": {"class": "wrap"}}
    )
    number = tables.Column(verbose_name="Number", default="—")
    shop_count = tables.Column(verbose_name="Shops", attrs=NUMERIC)
    net = MoneyColumn(verbose_name="Net")
    tax = MoneyColumn(verbose_name="Tax")
    gross = MoneyColumn(verbose_name="Gross")
    status = tables.Column(verbose_name="Status")
    review_flags = tables.Column(
        verbose_name="Review",
        empty_values=(),
        orderable=False,
        attrs={"td": {"class": "review"}},
    )
    pdf_status = tables.Column(verbose_name="PDF status")
    pdf = tables.Column(verbose_name="PDF", empty_values=(), orderable=False)

    class Meta:
        model = Invoice
        fields = ()
        order_by = ("subject_name",)
        attrs = {"class": "data-table", "data-test": "invoice-table"}
        row_attrs = {
            "data-test": "invoice-row",
            "data-invoice": lambda record: record.pk,
        }
        empty_text = "This run has no invoices."

    def __init__(self, *args, instance_slug: str, **kwargs):
        # The slug comes from the page, so a link costs no query per row.
        self.instance_slug = instance_slug
        super().__init__(*args, **kwargs)

    def render_select(self, record):
        if record.status != Invoice.Status.DRAFT:
            return ""
        return format_html(
            '<input type="checkbox" name="invoices" value="{}" form="{}"'
            ' data-test="select-invoice" aria-label="Select the draft of {}">',
            record.pk,
            FINALISE_FORM_ID,
            record.subject_name,
        )

    def render_subject_name(self, record):
        url = reverse(
            "billing:invoice",
            kwargs={"slug": self.instance_slug, "pk": record.pk},
        )
        return format_html(
            '<a href="{}" data-test="invoice-link">{}</a>', url, record.subject_name
        )

    def render_review_flags(self, record):
        return review_flags_html(record.review_flags)

    def render_status(self, record):
        return format_html(
            '<span class="badge badge-{}">{}</span>',
            record.status,
            record.get_status_display(),
        )

    def render_pdf_status(self, record):
        return format_html(
            '<span class="badge badge-pdf-{}" title="{}">{}</span>',
            record.pdf_status,
            record.pdf_error,
            record.get_pdf_status_display(),
        )

    def render_pdf(self, record):
        if record.pdf_status != Invoice.PdfStatus.RENDERED or not record.pdf:
            return "—"
        url = reverse(
            "billing:invoice-pdf",
            kwargs={"slug": self.instance_slug, "pk": record.pk},
        )
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" data-test="invoice-pdf-link"'
            ' aria-label="PDF of {}">PDF</a>',
            url,
            record.subject_name,
        )


class LineOrderTable(tables.Table):
    """Orders behind an invoice line: replica rows for a draft, frozen rows after.

    Rows are mappings or InvoiceLineOrder rows with the same four fields, so the
    table never queries.
    """

    order_id = tables.Column(verbose_name="Order id", attrs=NUMERIC)
    number = tables.Column(verbose_name="Number", default="—")
    completed_at = tables.Column(verbose_name="Completed")
    total = tables.Column(verbose_name="Total", attrs=NUMERIC)

    class Meta:
        attrs = {"class": "data-table", "data-test": "line-order-table"}
        row_attrs = {"data-test": "line-order-row"}
        orderable = False
        empty_text = "No orders are behind this line."

    def __init__(self, *args, time_zone: str, currency: str, **kwargs):
        self.time_zone = time_zone
        self.currency = currency
        super().__init__(*args, **kwargs)

    def render_completed_at(self, value):
        local = value.astimezone(zone(self.time_zone))
        return local.strftime("%Y-%m-%d %H:%M")

    def render_total(self, value):
        return money_display(value, self.currency)


class BillingSubjectTable(tables.Table):
    """An instance's billing subjects; rows from party_selectors.billing_subject_list.

    Emails are masked for people who do not send invoices (rule 11).
    """

    invoice_name = tables.Column(verbose_name="Invoice name")
    key = tables.Column(verbose_name="Subject")
    tax_id = tables.Column(verbose_name="Tax ID", default="—")
    email = tables.Column(verbose_name="Email", default="—")
    edited_at = tables.Column(verbose_name="Details", empty_values=())

    class Meta:
        attrs = {"class": "data-table", "data-test": "subject-table"}
        row_attrs = {"data-test": "subject-row", "data-key": lambda record: record.key}
        empty_text = "No billing subject matches."

    def __init__(self, *args, instance_slug: str, reveal_personal: bool, **kwargs):
        # The slug comes from the page, so a link costs no query per row.
        self.instance_slug = instance_slug
        self.reveal_personal = reveal_personal
        super().__init__(*args, **kwargs)

    def render_invoice_name(self, record):
        url = reverse(
            "billing:subject-edit", kwargs={"slug": self.instance_slug, "pk": record.pk}
        )
        return format_html('<a href="{}" data-test="subject-link">{}</a>', url, record)

    def render_email(self, value):
        return value if self.reveal_personal else mask_email(value)

    def render_edited_at(self, record):
        if record.edited_at is None:
            return "Prefilled from OFN"
        editor = record.edited_by or "a former user"
        return f"Edited by {editor} on {record.edited_at:%Y-%m-%d}"
