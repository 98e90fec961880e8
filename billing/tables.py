import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from portal.formats import money_display

from .models import Invoice

NUMERIC = {"th": {"class": "numeric"}, "td": {"class": "numeric"}}


class MoneyColumn(tables.Column):
    """An amount in its row's currency, rounded to the currency's minor unit."""

    def __init__(self, **kwargs):
        super().__init__(attrs=NUMERIC, **kwargs)

    def render(self, value, record):
        return money_display(value, record.currency)


class InvoiceTable(tables.Table):
    """A run's invoices; rows come from billing.page_selectors.invoice_summary_list."""

    subject_name = tables.Column(verbose_name="Subject")
    number = tables.Column(verbose_name="Number", default="—")
    shop_count = tables.Column(verbose_name="Shops", attrs=NUMERIC)
    net = MoneyColumn(verbose_name="Net")
    tax = MoneyColumn(verbose_name="Tax")
    gross = MoneyColumn(verbose_name="Gross")
    currency = tables.Column(verbose_name="Currency")
    status = tables.Column(verbose_name="Status")
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
