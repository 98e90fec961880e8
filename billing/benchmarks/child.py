"""One W01 statement render in a fresh process, so its peak memory is its own.

Run by billing.benchmarks.statement as
`python -m billing.benchmarks.child JOB.json {portal|bare} OUT.pdf`; prints one JSON
object: seconds, the process's peak resident set (ru_maxrss) and its resident set just
before the render, in MiB. The job file holds the instance's display fields, the shop
name, the year and the orders. "portal" renders through billing.statements (template,
the portal's asset fetcher); "bare" gives WeasyPrint the same HTML, rendered
beforehand, with its default fetcher and file:// URLs for the same assets.
"""

import datetime as dt
import json
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path


def _rss_mib() -> float:
    """Current resident set of this process."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _job(path: str):
    from billing.statements import StatementOrder
    from instances.models import Instance

    data = json.loads(Path(path).read_text(encoding="utf-8"))
    instance = Instance(**data["instance"])
    orders = [
        StatementOrder(dt.datetime.fromisoformat(at), number, Decimal(total))
        for at, number, total in data["orders"]
    ]
    return instance, data["shop_name"], data["year"], orders


def main(argv: list[str]) -> None:
    job_path, mode, out_path = argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
    import django

    django.setup()
    import weasyprint

    from billing.benchmarks.assets import file_urls
    from billing.statements import statement_html, statement_pdf_from_orders

    instance, shop_name, year, orders = _job(job_path)
    # Warm up fonts, stylesheet and template caches on a one-row statement, so the
    # measured render is the table itself.
    statement_pdf_from_orders(
        instance=instance, shop_name=shop_name, year=year, orders=orders[:1]
    )
    if mode == "bare":
        html = file_urls(
            statement_html(
                instance=instance, shop_name=shop_name, year=year, orders=orders
            )
        )
        weasyprint.HTML(string="<p>warm-up</p>").write_pdf()
    before = _rss_mib()
    started = time.perf_counter()
    if mode == "portal":
        content = statement_pdf_from_orders(
            instance=instance, shop_name=shop_name, year=year, orders=orders
        )
    else:
        content = weasyprint.HTML(string=html).write_pdf()
    seconds = time.perf_counter() - started
    Path(out_path).write_bytes(content)
    result = {"seconds": seconds, "peak_mib": _peak_mib(), "before_mib": before}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
