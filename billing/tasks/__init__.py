"""Celery tasks of billing; Celery's autodiscovery imports this package."""

from .runs import billing_run_task, invoice_render_task

__all__ = ["billing_run_task", "invoice_render_task"]
