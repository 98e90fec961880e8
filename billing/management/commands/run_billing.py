import json

from django.core.management.base import BaseCommand
from django.db.models import Sum
from django.utils import timezone

from billing.exports import billing_run_as_dict
from billing.services import billing_run_execute
from portal.commands import command_errors, instance_or_error, month_option
from portal.exceptions import InvalidInput
from portal.money import quantize
from portal.periods import Month, month_bounds_utc


def _check_month_is_billable(month: Month, *, instance, open_ok: bool) -> None:
    start, end = month_bounds_utc(month, instance.time_zone)
    now = timezone.now()
    if start > now:
        raise InvalidInput(
            f"{month} has not started yet in {instance.time_zone}; "
            "bill a month that has begun."
        )
    if end > now and not open_ok:
        raise InvalidInput(
            f"{month} is not over yet in {instance.time_zone}; add --open-month for "
            "drafts of the orders so far."
        )


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
        parser.add_argument(
            "--open-month",
            action="store_true",
            help="Allow drafts of the month in progress (the orders so far)",
        )

    def handle(self, *args, **options):
        instance = instance_or_error(options["slug"])
        with command_errors():
            month = month_option(options["month"], instance=instance)
            _check_month_is_billable(
                month, instance=instance, open_ok=options["open_month"]
            )
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
