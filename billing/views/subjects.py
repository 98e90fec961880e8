"""Billing pages: subjects (see billing/views/__init__.py)."""

urlpatterns = []
