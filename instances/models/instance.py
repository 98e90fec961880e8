import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from portal.exceptions import InvalidInput
from portal.models import TimeStampedModel
from portal.money import is_currency_code
from portal.periods import zone


def validate_currency(value: str) -> None:
    if not is_currency_code(value):
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code (e.g. GBP).")


def validate_time_zone(value: str) -> None:
    try:
        zone(value)
    except InvalidInput as error:
        raise ValidationError(str(error)) from None


class Instance(TimeStampedModel):
    """One OFN deployment (UK, Katuma...) and how to reach its read-only replica."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166 code, e.g. GB"
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    language = models.CharField(max_length=10, default="en")
    # Unique, so numbers ({PREFIX}-{YYYY}-{NNNN}) never collide across instances.
    invoice_prefix = models.CharField(
        max_length=12,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z0-9]+$", "Use capital letters and digits only.")
        ],
    )
    # Either the replica URL itself or the name of an environment variable holding it.
    # Neither is ever rendered in a page or written to a log (see replica_label).
    replica_url = models.CharField(max_length=500, blank=True)
    replica_url_env = models.CharField(
        max_length=100,
        blank=True,
        validators=[
            RegexValidator(r"^[A-Z_][A-Z0-9_]*$", "An environment variable name.")
        ],
    )
    statement_timeout_ms = models.PositiveIntegerField(
        default=settings.OFN_REPLICA_STATEMENT_TIMEOUT_MS
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(replica_url="", replica_url_env=""),
                name="instance_has_replica",
                violation_error_message="Give a replica URL or its variable.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def replica_alias(self) -> str:
        """The Django database alias of this instance's replica."""
        return f"ofn_{self.slug.replace('-', '_')}"

    def resolved_replica_url(self) -> str:
        """The replica URL, read from the environment when configured that way."""
        if self.replica_url_env:
            value = os.environ.get(self.replica_url_env, "")
            if not value:
                raise InvalidInput(
                    f"Instance {self.slug}: environment variable "
                    f"{self.replica_url_env} is not set; export the replica URL in it."
                )
            return value
        return self.replica_url
