"""W01: the annual statement of one shop with thousands of rows, timed with its memory.

The orders are read from the replica in the benchmark process (timed on its own);
each render then runs in a child process (billing.benchmarks.child), so its peak
resident set is the render's and not the benchmark's. The portal render and a bare
WeasyPrint render of the same HTML run one after the other, each in a fresh child.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from billing.statements import shop_statement_orders
from instances.models import Instance
from portal.exceptions import PortalError
from portal.formats import locale_for, money_display
from portal.money import ZERO

CHILD_TIMEOUT_SECONDS = 15 * 60


@dataclass(frozen=True)
class RenderFigures:
    seconds: float
    peak_mib: float
    before_mib: float
    pages: int | None
    # Whether pdftotext finds the year's total on the last page (None: no pdftotext).
    total_on_last_page: bool | None

    @property
    def growth_mib(self) -> float:
        return self.peak_mib - self.before_mib


@dataclass(frozen=True)
class StatementFigures:
    rows: int
    total: str
    query_seconds: float
    portal: RenderFigures
    bare: RenderFigures


def statement_measure(
    *, instance: Instance, enterprise_id: int, year: int, workdir: Path
) -> StatementFigures:
    started = time.perf_counter()
    shop_name, orders = shop_statement_orders(
        instance=instance, enterprise_id=enterprise_id, year=year
    )
    query_seconds = time.perf_counter() - started
    locale = locale_for(instance.language, instance.country)
    total = money_display(
        sum((order.total for order in orders), ZERO), instance.currency, locale=locale
    )
    job = workdir / "w01-job.json"
    job.write_text(
        json.dumps(
            {
                "instance": {
                    field: getattr(instance, field)
                    for field in ("slug", "name", "country", "currency")
                    + ("time_zone", "language")
                },
                "shop_name": shop_name,
                "year": year,
                "orders": [
                    [o.completed_at.isoformat(), o.number, str(o.total)] for o in orders
                ],
            }
        ),
        encoding="utf-8",
    )
    renders = {
        mode: _render_in_child(job, mode, workdir / f"w01-{mode}.pdf", total)
        for mode in ("portal", "bare")
    }
    return StatementFigures(
        rows=len(orders),
        total=total,
        query_seconds=query_seconds,
        portal=renders["portal"],
        bare=renders["bare"],
    )


def _render_in_child(job: Path, mode: str, out: Path, total: str) -> RenderFigures:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
        "PYTHONPATH": os.pathsep.join(
            [str(settings.BASE_DIR), os.environ.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep),
    }
    completed = subprocess.run(  # noqa: S603 - our own module, our own arguments
        [sys.executable, "-m", "billing.benchmarks.child", str(job), mode, str(out)],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        env=env,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise PortalError(f"W01 {mode} render failed in its child process: {last}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    pages, on_last = _last_page_check(out, total)
    return RenderFigures(
        seconds=result["seconds"],
        peak_mib=result["peak_mib"],
        before_mib=result["before_mib"],
        pages=pages,
        total_on_last_page=on_last,
    )


def pdf_pages_text(path: Path) -> list[str] | None:
    """Each page's text (pdftotext -layout), spaces made plain; None without it."""
    tool = shutil.which("pdftotext")
    if tool is None:
        return None
    text = subprocess.run(  # noqa: S603 - fixed tool, our own file
        [tool, "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pages = text.replace("\u00a0", " ").replace("\u202f", " ").split("\f")
    # pdftotext ends every page with a form feed, the last one included.
    return pages[:-1] if pages and not pages[-1].strip() else pages


def _last_page_check(path: Path, total: str) -> tuple[int | None, bool | None]:
    pages = pdf_pages_text(path)
    if pages is None:
        return None, None
    plain_total = total.replace("\u00a0", " ").replace("\u202f", " ")
    return len(pages), plain_total in pages[-1]
