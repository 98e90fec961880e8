from django.contrib import admin

from .models import AuditEvent, Membership


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "instance", "role", "created_at"]
    list_filter = ["role", "instance"]
    list_select_related = ["user", "instance"]
    search_fields = ["user__username", "user__email", "instance__slug"]
    autocomplete_fields = ["user"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, as written by services: nobody edits or deletes it."""

    list_display = [
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "instance",
    ]
    list_filter = ["action", "instance"]
    list_select_related = ["instance"]
    search_fields = ["action", "object_type", "object_id", "actor_label"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
