"""PDF throughput of one worker: the portal's invoice render against bare WeasyPrint.

The portal path is billing.pdf.invoice_pdf_bytes, what the render task runs: read the
invoice and its lines, render the template in the instance's language, and write the
PDF with the portal's asset fetcher. The bare path gives WeasyPrint the same HTML,
rendered beforehand, with its default fetcher and file:// URLs for the same assets
(billing.benchmarks.assets). Both run in this process, interleaved invoice by invoice
(alternating which goes first), after one warm-up render each.
"""

import time
from dataclasses import dataclass
from decimal import Decimal

import weasyprint

from billing.models import BillingRun, Invoice, InvoiceLine
from billing.pdf import invoice_pdf_bytes, invoice_pdf_html
from instances.models import Instance
from portal.money import ZERO, quantize
from portal.periods import Month

from .assets import file_urls

_COMPONENTS = [
    (InvoiceLine.Component.FIXED_FEE, "Fixed fee", "Benchmark plan: 5.00 EUR a month."),
    (
        InvoiceLine.Component.TURNOVER_SHARE,
        "Share of turnover",
        "Benchmark plan: 1 % of turnover 4,321.00 EUR from 87 orders.",
    ),
    (
        InvoiceLine.Component.TIER,
        "Tier fee",
        "Turnover 4,321.00 EUR is in the tier from 1,000.00 EUR: 50.00 EUR plus 1 %.",
    ),
    (InvoiceLine.Component.CAP, "Monthly cap", "Charges capped at 150.00 EUR a month."),
]


@dataclass(frozen=True)
class PdfFigures:
    invoices: int
    lines: int
    portal_seconds: list[float]
    bare_seconds: list[float]

    @property
    def portal_per_second(self) -> float:
        return self.invoices / sum(self.portal_seconds)

    @property
    def bare_per_second(self) -> float:
        return self.invoices / sum(self.bare_seconds)

    @property
    def ratio(self) -> float:
        return self.portal_per_second / self.bare_per_second


def pdf_invoices_create(
    *, instance: Instance, month: Month, count: int
) -> list[Invoice]:
    """`count` draft invoices of 5 to 20 lines over 1 to 4 shops, for rendering."""
    run, _ = BillingRun.objects.get_or_create(
        instance=instance,
        month=month.first_day,
        defaults={"status": BillingRun.Status.SUCCEEDED},
    )
    invoices = []
    for n in range(count):
        line_count = 5 + (n * 7) % 16
        shops = 1 + n % 4
        # 1.00 to 90.99, from whole cents.
        amounts = [
            Decimal((n * 37 + k * 13) % 9000 + 100).scaleb(-2)
            for k in range(line_count)
        ]
        net = sum(amounts, ZERO)
        tax = quantize(net * Decimal("0.21"), instance.currency)
        invoice = Invoice.objects.create(
            run=run,
            instance=instance,
            month=month.first_day,
            subject_key=f"benchmark:{n}",
            subject_name=f"Benchmark subject {n:03d} – Müller & Söhne",
            subject_email=f"subject{n}@bench.example",
            currency=instance.currency,
            tax_rate=Decimal("0.21"),
            net=net,
            tax=tax,
            gross=net + tax,
            content_hash=f"{n:064x}",
        )
        InvoiceLine.objects.bulk_create(
            _line(invoice, k, shops, amount) for k, amount in enumerate(amounts)
        )
        invoices.append(invoice)
    return invoices


def _line(invoice: Invoice, k: int, shops: int, amount: Decimal) -> InvoiceLine:
    component, description, rule = _COMPONENTS[k % len(_COMPONENTS)]
    shop = k % shops
    return InvoiceLine(
        invoice=invoice,
        position=k + 1,
        enterprise_id=1000 + shop,
        enterprise_name=f"Épicerie Bío Château {shop}",
        category="hub",
        component=component,
        description=description,
        rule=rule,
        turnover=Decimal("4321.00"),
        order_count=87,
        billable_days=30,
        days_in_month=30,
        amount=amount,
    )


def pdf_throughput(*, invoices: list[Invoice]) -> PdfFigures:
    bare_html = [file_urls(invoice_pdf_html(invoice=invoice)) for invoice in invoices]
    # Warm-up: fonts, stylesheet parsing and template loading happen once per worker.
    _portal_render(invoices[0].pk)
    weasyprint.HTML(string=bare_html[0]).write_pdf()
    portal, bare = [], []
    for n, (invoice, html) in enumerate(zip(invoices, bare_html, strict=True)):
        steps = [
            (portal, lambda pk=invoice.pk: _portal_render(pk)),
            (bare, lambda html=html: weasyprint.HTML(string=html).write_pdf()),
        ]
        for samples, render in steps if n % 2 == 0 else reversed(steps):
            started = time.perf_counter()
            render()
            samples.append(time.perf_counter() - started)
    return PdfFigures(
        invoices=len(invoices),
        lines=InvoiceLine.objects.filter(invoice__in=invoices).count(),
        portal_seconds=portal,
        bare_seconds=bare,
    )


def _portal_render(invoice_id: int) -> bytes:
    """What the render task does before storing: load the invoice, render it."""
    invoice = Invoice.objects.select_related("instance").get(pk=invoice_id)
    return invoice_pdf_bytes(invoice=invoice)


def pdf_month(month: Month) -> Month:
    """The month the rendering invoices are filed under: the one before, kept apart."""
    return month.previous()
