"""Plumbing every app shares: timestamps, roles on instances, and the audit log."""

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Role(models.TextChoices):
    MANAGER = "manager", "Instance manager"
    ACCOUNTANT = "accountant", "Accountant"


class Membership(TimeStampedModel):
    """Grants a user a role on one instance.

    Global admins are Django superusers and see every instance without a membership.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "instance", "role"], name="membership_unique_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()} of {self.instance}"


class AuditEvent(models.Model):
    """One row per state change made by a service: who did what to what, and why."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The actor's label at the time (kept when the user is deleted; "system" for tasks).
    actor_label = models.CharField(max_length=150)
    instance = models.ForeignKey(
        "instances.Instance",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="audit_events",
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type}#{self.object_id}"
