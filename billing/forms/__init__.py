"""Billing forms, one module per area (plans, lifecycle, parties, sending)."""
