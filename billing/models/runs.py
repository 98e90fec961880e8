from django.conf import settings
from django.db import models

from portal.models import TimeStampedModel

from .plans import money_field


class BillingRun(TimeStampedModel):
    """The computation of one instance's invoices for one local month (unique)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="billing_runs"
    )
    month = models.DateField(help_text="First day of the billed month.")
    status = models.CharField(max_length=20, choices=Status.choices)
    computed_at = models.DateTimeField(null=True, blank=True)
    computations = models.PositiveIntegerField(default=0)
    shops_billed = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["instance", "-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "month"], name="billing_run_unique_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.instance.slug} {self.month:%Y-%m}"


class RecomputeProposal(TimeStampedModel):
    """A shop's charge changed after its invoice was finalised: what to do about it.

    A finalised invoice never changes (rule 9); the manager accepts the difference as a
    credit note or as a correction line on the next invoice, or dismisses it.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        CREDIT_NOTE = "credit_note", "Accepted as a credit note"
        CORRECTION = "correction", "Accepted as a correction on the next invoice"
        DISMISSED = "dismissed", "Dismissed"

    run = models.ForeignKey(
        BillingRun, on_delete=models.CASCADE, related_name="proposals"
    )
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.CASCADE, related_name="proposals"
    )
    enterprise_id = models.IntegerField()
    enterprise_name = models.CharField(max_length=255)
    invoiced_amount = money_field()
    recomputed_amount = money_field()
    difference = money_field()
    reason = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PROPOSED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # For an accepted correction: the later invoice whose correction line settles it.
    settled_on_invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="settled_proposals",
    )

    class Meta:
        ordering = ["run", "enterprise_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "enterprise_id"],
                condition=models.Q(status="proposed"),
                name="recompute_proposal_one_open_per_shop",
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_name}: {self.difference:+}"
