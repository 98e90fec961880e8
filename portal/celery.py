"""The Celery application; tasks are discovered in each app's tasks package."""

import logging
import os

from celery import Celery
from celery.exceptions import WorkerShutdown
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

logger = logging.getLogger(__name__)

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every schedule is a short UTC interval: each task decides per instance, in the
# instance's own zone, whether anything is due, so DST never moves or doubles a run.
TICK_SECONDS = 10 * 60
app.conf.beat_schedule = {
    "billing-monthly-tick": {
        "task": "billing.monthly_tick",
        "schedule": TICK_SECONDS,
        "options": {"expires": TICK_SECONDS},
    },
    "billing-sweep-renders": {
        "task": "billing.sweep_renders",
        "schedule": TICK_SECONDS,
        "options": {"expires": TICK_SECONDS},
    },
    "billing-sweep-deliveries": {
        "task": "billing.sweep_deliveries",
        "schedule": TICK_SECONDS,
        "options": {"expires": TICK_SECONDS},
    },
}


def _system_font_count() -> int:
    """How many fonts fontconfig offers WeasyPrint (Pango crashes when it is none)."""
    from weasyprint.text.ffi import ffi, fontconfig

    config = ffi.gc(fontconfig.FcInitLoadConfigAndFonts(), fontconfig.FcConfigDestroy)
    fonts = fontconfig.FcConfigGetFonts(config, fontconfig.FcSetSystem)
    return 0 if fonts == ffi.NULL else fonts.nfont


@worker_init.connect
def pdf_fonts_required(sender=None, **kwargs) -> None:
    """Stop a worker that would render invoices with empty boxes (case W03).

    Celery logs and swallows an Exception raised by a signal handler, so the check's
    failure is turned into WorkerShutdown (a SystemExit), which ends the worker with
    a non-zero status and the check's message.
    """
    import django
    from django.core.exceptions import ImproperlyConfigured

    django.setup()
    from billing.pdf import FONT_PACKAGE, pdf_font_check

    try:
        if not _system_font_count():
            # Checked first: drawing text with no font at all crashes Pango outright.
            raise ImproperlyConfigured(
                f"PDF fonts: fontconfig finds no font at all: install the system "
                f"package {FONT_PACKAGE} (DejaVu Sans) on every machine that renders "
                "invoices."
            )
        pdf_font_check()
    except ImproperlyConfigured as error:
        logger.critical("Worker stopped: %s", error, extra={"check": "pdf_fonts"})
        raise WorkerShutdown(f"Worker stopped: {error}") from None
