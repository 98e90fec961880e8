"""Celery tasks of billing; Celery's autodiscovery imports this package."""

from .runs import billing_run_task, invoice_render_sweep_task, invoice_render_task
from .schedule import monthly_tick_task
from .sending import delivery_sweep_task, invoice_send_task

__all__ = [
    "billing_run_task",
    "delivery_sweep_task",
    "invoice_render_sweep_task",
    "invoice_render_task",
    "invoice_send_task",
    "monthly_tick_task",
]
