"""Billing pages: exports (see billing/views/__init__.py)."""

urlpatterns = []
