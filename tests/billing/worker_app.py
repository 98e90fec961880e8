"""The portal's Celery app with test-only hooks, for workers started by tests.

TEST_RENDER_MARKER=<path>: every PDF render first writes the pid of the worker
process into <path>, then waits while <path>.block exists, so a test can kill the
process mid-render (case C06).
"""

import os
import time
from pathlib import Path

from celery.signals import worker_process_init

from portal.celery import app

__all__ = ["app"]


@worker_process_init.connect
def slow_renders(**kwargs) -> None:
    marker = os.environ.get("TEST_RENDER_MARKER")
    if not marker:
        return
    from billing import pdf

    render = pdf.invoice_pdf_bytes

    def held_render(*, invoice):
        Path(marker).write_text(str(os.getpid()))
        while Path(f"{marker}.block").exists():
            time.sleep(0.05)
        return render(invoice=invoice)

    pdf.invoice_pdf_bytes = held_render
