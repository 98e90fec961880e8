"""Machine-readable views of billing runs (the JSON of `run_billing --json`)."""

from portal.money import quantize

from ..models import BillingRun


def _amount(value, currency: str) -> str:
    return str(quantize(value, currency))


def billing_run_as_dict(*, run: BillingRun) -> dict:
    """Every invoice of `run` with its lines; amounts as exact decimal strings."""
    invoices = run.invoices.prefetch_related("lines").order_by("subject_key")
    return {
        "instance": run.instance.slug,
        "month": f"{run.month:%Y-%m}",
        "run": run.pk,
        "invoices": [
            {
                "id": invoice.pk,
                "subject": invoice.subject_key,
                "subject_name": invoice.subject_name,
                "status": invoice.status,
                "currency": invoice.currency,
                "net": _amount(invoice.net, invoice.currency),
                "tax": _amount(invoice.tax, invoice.currency),
                "gross": _amount(invoice.gross, invoice.currency),
                "lines": [
                    {
                        "enterprise_id": line.enterprise_id,
                        "enterprise_name": line.enterprise_name,
                        "component": line.component,
                        "description": line.description,
                        "rule": line.rule,
                        "turnover": _amount(line.turnover, invoice.currency),
                        "order_count": line.order_count,
                        "billable_days": line.billable_days,
                        "amount": _amount(line.amount, invoice.currency),
                    }
                    for line in invoice.lines.all()
                ],
            }
            for invoice in invoices
        ],
    }
