"""Billing pages: plans (see billing/views/__init__.py)."""

urlpatterns = []
