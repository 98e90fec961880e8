"""Billing writes, one module per sub-domain.

runs: computing a month's drafts. lifecycle: finalise, number, credit, pay, void.
sending: handing invoices to their channel once. plans: plan import and export.
"""

from .runs import billing_compute, billing_run_execute, plan_terms

__all__ = ["billing_compute", "billing_run_execute", "plan_terms"]
