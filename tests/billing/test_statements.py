"""Annual statements of one shop (case W01): the orders of a local year, every row in
the PDF, the header on every page and the year's total on the last page."""

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from billing.statements import (
    StatementOrder,
    shop_statement_orders,
    shop_statement_pdf,
    statement_pdf_from_orders,
)
from instances.models import Instance
from portal.exceptions import InvalidInput

UTC = dt.UTC
HEADER = "Running total (EUR)"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def pdf_pages(content: bytes, tmp_path: Path) -> list[str]:
    """Each page's text as pdftotext lays it out, with plain spaces."""
    path = tmp_path / "statement.pdf"
    path.write_bytes(content)
    text = subprocess.run(  # noqa: S603 - fixed tool, test-owned file
        ["/usr/bin/pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    pages = text.replace("\u00a0", " ").replace("\u202f", " ").split("\f")
    return [" ".join(page.split()) for page in pages if page.strip()]


def madrid() -> Instance:
    """An unsaved instance: statements from given orders read no database."""
    return Instance(
        slug="es",
        name="Katuma",
        currency="EUR",
        time_zone="Europe/Madrid",
        language="en",
    )


def test_statement_pdf_w01_last_page_shows_61_700(tmp_path):
    # Given case W01: 5,000 complete orders of 12.34 over the year.
    orders = [
        StatementOrder(
            at(2025, 1, 1, 9) + dt.timedelta(minutes=100 * n),
            f"R{n:09d}",
            Decimal("12.34"),
        )
        for n in range(1, 5001)
    ]

    # When the statement is rendered.
    pages = pdf_pages(
        statement_pdf_from_orders(
            instance=madrid(), shop_name="Huerta Verde", year=2025, orders=orders
        ),
        tmp_path,
    )

    # Then the last page shows 5,000 x 12.34 = 61,700.00, and the last order's row.
    assert "Total 2025 (EUR) €61,700.00" in pages[-1]
    assert "R000005000 €12.34 €61,700.00" in pages[-1]
    # Every page repeats the table header, and no row is lost: 5,000 order numbers.
    assert len(pages) > 1
    assert all(HEADER in page for page in pages)
    numbers = [word for page in pages for word in page.split() if word[:2] == "R0"]
    assert len(numbers) == 5000
    assert numbers[0] == "R000000001"


def test_statement_pdf_shows_local_dates_and_running_totals(tmp_path):
    # Given two orders, one at 23:30 UTC on 31 December (1 January in Madrid).
    orders = [
        StatementOrder(at(2024, 12, 31, 23, 30), "R1", Decimal("10.00")),
        StatementOrder(at(2025, 3, 1, 12), "R2", Decimal("1234.50")),
    ]

    # When the statement is rendered.
    (page,) = pdf_pages(
        statement_pdf_from_orders(
            instance=madrid(), shop_name="Huerta Verde", year=2025, orders=orders
        ),
        tmp_path,
    )

    # Then each row has the local date, its total and the total so far.
    assert "Jan 1, 2025 R1 €10.00 €10.00" in page
    assert "Mar 1, 2025 R2 €1,234.50 €1,244.50" in page
    assert "2 orders completed in 2025" in page
    assert "Total 2025 (EUR) €1,244.50" in page


def test_statement_pdf_without_orders_says_so(tmp_path):
    (page,) = pdf_pages(
        statement_pdf_from_orders(
            instance=madrid(), shop_name="Huerta Verde", year=2025, orders=[]
        ),
        tmp_path,
    )

    assert "No orders this year." in page
    assert "Total 2025 (EUR) €0.00" in page


def add_order(writer, order_id, *, shop=7, state="complete", completed_at, total):
    writer.order(
        order_id,
        distributor_id=shop,
        state=state,
        completed_at=completed_at,
        total=total,
    )


@pytest.fixture
def statement_replica(pg_replica):
    """Shop 7 in Madrid with orders around the local year 2025, and a neighbour."""
    writer = pg_replica.writer
    writer.user(1, "owner@example.com", at(2023, 1, 1))
    writer.enterprise(
        7, owner_id=1, sells="any", created_at=at(2023, 1, 1), name="Huerta Verde"
    )
    writer.enterprise(8, owner_id=1, sells="own", created_at=at(2023, 1, 1))
    # 22:59:59 UTC on 31 Dec 2024 is 23:59:59 in Madrid (CET): still 2024.
    add_order(writer, 1, completed_at=at(2024, 12, 31, 22, 59, 59), total="99.00")
    # 23:00 UTC is midnight in Madrid: the first instant of 2025.
    add_order(writer, 2, completed_at=at(2024, 12, 31, 23), total="10.00")
    add_order(
        writer, 3, state="resumed", completed_at=at(2025, 6, 1, 10), total="20.50"
    )
    add_order(
        writer, 4, state="canceled", completed_at=at(2025, 6, 2, 10), total="40.00"
    )
    add_order(writer, 5, state="cart", completed_at=None, total="50.00")
    add_order(writer, 6, shop=8, completed_at=at(2025, 6, 3, 10), total="60.00")
    add_order(writer, 7, completed_at=at(2025, 12, 31, 22, 59, 59), total="30.25")
    # Midnight of 1 January 2026 in Madrid: next year.
    add_order(writer, 8, completed_at=at(2025, 12, 31, 23), total="70.00")
    pg_replica.commit()
    return pg_replica.instance(
        "es", currency="EUR", time_zone="Europe/Madrid", language="en"
    )


@pytest.mark.django_db
def test_shop_statement_orders_reads_turnover_orders_of_the_local_year(
    statement_replica,
):
    # When shop 7's orders of 2025 are read.
    name, orders = shop_statement_orders(
        instance=statement_replica, enterprise_id=7, year=2025
    )

    # Then: orders 2 (complete), 3 (resumed) and 7 (complete), oldest first; not the
    # cancelled, the unfinished, the neighbour's, nor those of 2024 and 2026.
    assert name == "Huerta Verde"
    assert [(o.number, o.total) for o in orders] == [
        ("R000000002", Decimal("10.00")),
        ("R000000003", Decimal("20.50")),
        ("R000000007", Decimal("30.25")),
    ]
    assert orders[0].completed_at == at(2024, 12, 31, 23)


@pytest.mark.django_db
def test_shop_statement_pdf_from_the_replica(statement_replica, tmp_path):
    # When the 2025 statement of shop 7 is rendered from the replica.
    (page,) = pdf_pages(
        shop_statement_pdf(instance=statement_replica, enterprise_id=7, year=2025),
        tmp_path,
    )

    # Then 10.00 + 20.50 + 30.25 = 60.75, the first row dated 1 January locally.
    assert "Annual statement 2025" in page
    assert "Jan 1, 2025 R000000002 €10.00 €10.00" in page
    assert "Jun 1, 2025 R000000003 €20.50 €30.50" in page
    assert "Dec 31, 2025 R000000007 €30.25 €60.75" in page
    assert "Total 2025 (EUR) €60.75" in page
    assert "99.00" not in page
    assert "70.00" not in page


@pytest.mark.django_db
def test_shop_statement_pdf_unknown_shop_is_invalid_input(statement_replica):
    with pytest.raises(InvalidInput, match="no enterprise 999"):
        shop_statement_pdf(instance=statement_replica, enterprise_id=999, year=2025)
