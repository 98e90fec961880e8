"""Billing pages: invoices (see billing/views/__init__.py)."""

urlpatterns = []
