from django.core.management.base import BaseCommand, CommandError

from billing.models import BillingRun, Invoice
from billing.tasks import invoice_render_task
from portal.commands import command_errors, instance_or_error, month_option


class Command(BaseCommand):
    help = "Render the PDFs of a month's invoices (those not rendered yet, or --all)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--month", required=True, help="YYYY-MM, or last")
        parser.add_argument(
            "--all", action="store_true", help="Render every invoice again"
        )

    def handle(self, *args, **options):
        instance = instance_or_error(options["slug"])
        with command_errors():
            month = month_option(options["month"], instance=instance)
        run = BillingRun.objects.filter(
            instance=instance, month=month.first_day
        ).first()
        if run is None:
            raise CommandError(
                f"Instance {instance.slug} has no billing run for {month}; "
                f"run: manage.py run_billing {instance.slug} --month {month}"
            )
        invoices = run.invoices.all()
        if not options["all"]:
            invoices = invoices.exclude(pdf_status=Invoice.PdfStatus.RENDERED)
        invoice_ids = list(invoices.values_list("pk", flat=True))
        for invoice_id in invoice_ids:
            # In process without a broker (local settings), on the workers otherwise.
            invoice_render_task.delay(invoice_id)
        failed = run.invoices.filter(pdf_status=Invoice.PdfStatus.FAILED).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Instance {instance.slug}, {month}: {len(invoice_ids)} PDFs "
                "rendered (or queued for the workers)."
            )
        )
        if failed:
            raise CommandError(f"{failed} invoices failed to render; see the run page.")
