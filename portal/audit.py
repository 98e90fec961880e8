"""Writing audit rows: called by services inside their own transaction."""

from typing import Any

from django.db import models

from .models import AuditEvent


def audit_record(
    *,
    action: str,
    target: models.Model,
    actor=None,
    instance=None,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor.get_username() if actor is not None else "system",
        instance=instance,
        action=action,
        object_type=target._meta.label,
        object_id=str(target.pk),
        reason=reason,
        details=details or {},
    )
