from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .models import BillingRun, Invoice, InvoiceLine, PricingPlan


class ReadOnlyAdminMixin:
    """Billing records change only through services (runs, finalisation, renders)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PricingPlan)
class PricingPlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "instance",
        "effective_from",
        "fixed_fee",
        "turnover_rate",
        "monthly_cap",
        "tax_rate",
        "prices_include_tax",
    ]
    list_filter = ["instance"]
    list_select_related = ["instance"]
    search_fields = ["name"]
    date_hierarchy = "effective_from"


class InvoiceLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InvoiceLine
    fk_name = "invoice"
    fields = [
        "position",
        "enterprise_id",
        "enterprise_name",
        "component",
        "description",
        "rule",
        "turnover",
        "order_count",
        "billable_days",
        "days_in_month",
        "amount",
    ]
    readonly_fields = fields
    extra = 0


class InvoiceInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Invoice
    fields = ["subject_name", "number", "status", "net", "tax", "gross", "pdf_status"]
    readonly_fields = fields
    show_change_link = True
    extra = 0


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["instance", "month", "status", "computed_at", "shops_billed"]
    list_filter = ["instance", "status"]
    list_select_related = ["instance"]
    date_hierarchy = "month"
    inlines = [InvoiceInline]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "subject_name",
        "number",
        "instance",
        "month",
        "status",
        "currency",
        "gross",
        "pdf_status",
    ]
    list_filter = ["instance", "status", "pdf_status", "month"]
    list_select_related = ["instance"]
    search_fields = ["subject_name", "subject_key", "number"]
    inlines = [InvoiceLineInline]
    # The file itself is never linked: media is not served, and the portal's view
    # checks the viewer's instance before it hands out a PDF.
    fields = [
        "run",
        "instance",
        "month",
        "subject_key",
        "subject_name",
        "subject_email",
        "plan",
        "currency",
        "tax_rate",
        "prices_include_tax",
        "net",
        "tax",
        "gross",
        "status",
        "number",
        "content_hash",
        "pdf_status",
        "pdf_link",
        "pdf_error",
        "pdf_rendered_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["pdf_link", "created_at", "updated_at"]

    @admin.display(description="PDF")
    def pdf_link(self, obj: Invoice) -> str:
        if obj.pdf_status != Invoice.PdfStatus.RENDERED or not obj.pdf:
            return "-"
        url = reverse(
            "billing:invoice-pdf", kwargs={"slug": obj.instance.slug, "pk": obj.pk}
        )
        return format_html('<a href="{}" target="_blank" rel="noopener">Open</a>', url)
