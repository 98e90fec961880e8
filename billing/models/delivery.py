from django.db import models

from portal.models import TimeStampedModel


class Delivery(TimeStampedModel):
    """One message (an invoice email, for now) claimed before it is handed over.

    Rule 12: the row is inserted under a unique key first; only the worker whose insert
    succeeded hands the message to its channel, so retries and duplicate task deliveries
    send it at most once. A claim never followed by a hand-over turns "unknown".
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        CLAIMED = "claimed", "Claimed"
        HANDED_OVER = "handed_over", "Handed over"
        DELIVERED = "delivered", "Delivered"
        BOUNCED = "bounced", "Bounced"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown (check before resending)"

    key = models.CharField(max_length=200, unique=True)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="deliveries"
    )
    channel = models.CharField(max_length=20, choices=Channel.choices)
    recipient = models.CharField(max_length=255)
    status = models.CharField(max_length=20, choices=Status.choices)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    error = models.TextField(blank=True)
    # Provider events (delivered, bounced...) as received, newest last.
    events = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return self.key
