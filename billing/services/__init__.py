"""Billing writes, one module per sub-domain.

compute: a month's charges read from the replica. drafts: writing a run's drafts.
runs: a month's billing run (compute, write drafts, propose recompute differences).
review: review flags and recompute differences read from line explanations.
lifecycle: finalise, number, credit, pay, void. sending: handing invoices to their
channel once. plans: plan import and export.
"""

from .compute import SubjectDraft, billing_compute, plan_terms
from .runs import billing_run_execute

__all__ = ["SubjectDraft", "billing_compute", "billing_run_execute", "plan_terms"]
