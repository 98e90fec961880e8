import json

from django.core.management.base import BaseCommand
from django.db.models import Sum

from billing.exports import billing_run_as_dict
from billing.services import billing_run_execute
from portal.commands import command_errors, instance_or_error, month_option
from portal.money import quantize


class Command(BaseCommand):
    help = (
        "Compute (or recompute) an instance's draft invoices for a month; running the "
        "same month again updates the drafts, never duplicates them."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--month", required=True, help="YYYY-MM, or last (last full local month)"
        )
        parser.add_argument(
            "--json", action="store_true", help="Print every invoice as JSON"
        )

    def handle(self, *args, **options):
        instance = instance_or_error(options["slug"])
        with command_errors():
            month = month_option(options["month"], instance=instance)
            run = billing_run_execute(instance=instance, month=month)
        summary = billing_run_as_dict(run=run)
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
            return
        invoices = summary["invoices"]
        gross = run.invoices.aggregate(total=Sum("gross"))["total"] or 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Instance {instance.slug}, {month}: {len(invoices)} draft invoices "
                f"for {run.shops_billed} shops, {quantize(gross, instance.currency)} "
                f"{instance.currency} gross."
            )
        )
        self.stdout.write(
            "Render the PDFs: "
            f"manage.py render_invoices {instance.slug} --month {month}"
        )
