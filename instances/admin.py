from django import forms
from django.contrib import admin

from .models import Instance


class InstanceAdminForm(forms.ModelForm):
    """Edits an instance without ever sending its replica URL (a secret) to a page.

    The URL field is write-only: left blank it keeps the stored value; the checkbox
    clears it, for instances that read their URL from an environment variable.
    """

    replica_url = forms.CharField(
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        label="Replica URL",
        help_text="Write-only: leave blank to keep the stored URL.",
    )
    clear_replica_url = forms.BooleanField(
        required=False,
        label="Clear the stored replica URL",
        help_text="Tick when the URL comes from the environment variable below.",
    )

    class Meta:
        model = Instance
        fields = [
            "slug",
            "name",
            "country",
            "currency",
            "time_zone",
            "language",
            "invoice_prefix",
            "replica_url",
            "clear_replica_url",
            "replica_url_env",
            "statement_timeout_ms",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The stored URL stays out of the form entirely, so a blank field counts as
        # "unchanged" in the admin history rather than as a change.
        self.initial["replica_url"] = ""

    def clean_replica_url(self) -> str:
        if self.cleaned_data.get("replica_url"):
            return self.cleaned_data["replica_url"]
        return self.instance.replica_url if self.instance.pk else ""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("clear_replica_url"):
            cleaned["replica_url"] = ""
        return cleaned


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    form = InstanceAdminForm
    list_display = [
        "slug",
        "name",
        "currency",
        "time_zone",
        "replica_configured",
    ]
    search_fields = ["slug", "name"]
    ordering = ["name"]
    fieldsets = [
        (
            None,
            {"fields": ["slug", "name", "country", "currency", "time_zone"]},
        ),
        ("Invoices", {"fields": ["language", "invoice_prefix"]}),
        (
            "Read-only replica",
            {
                "fields": [
                    "replica_url",
                    "clear_replica_url",
                    "replica_url_env",
                    "statement_timeout_ms",
                ]
            },
        ),
    ]

    @admin.display(boolean=True, description="Replica configured")
    def replica_configured(self, obj: Instance) -> bool:
        return bool(obj.replica_url or obj.replica_url_env)
