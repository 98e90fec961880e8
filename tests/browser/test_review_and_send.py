"""A manager's month-end in Chromium: review, orders, finalise, send, export."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from billing.models import Invoice, IssuerProfile, PricingPlan
from billing.services import billing_run_execute
from portal.models import Membership, Role
from portal.periods import Month

from .test_demo_walkthrough import CHROMIUM, CHROMIUM_ARGS

UTC = dt.UTC
PASSWORD = "a-long-test-password-41"  # noqa: S105 - test only

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def may_run(sqlite_replica):
    """UK, May 2026: Hill Farm (owner 7) sold 251.00 in two orders; Dale Hub nothing."""
    w = sqlite_replica.writer
    w.user(7, "hill@example.org", dt.datetime(2025, 1, 1, tzinfo=UTC))
    w.user(8, "dale@example.org", dt.datetime(2025, 1, 1, tzinfo=UTC))
    w.enterprise(
        12,
        owner_id=7,
        sells="own",
        name="Hill Farm",
        created_at=dt.datetime(2025, 1, 1, tzinfo=UTC),
    )
    w.enterprise(
        13,
        owner_id=8,
        sells="any",
        name="Dale Hub",
        created_at=dt.datetime(2025, 1, 1, tzinfo=UTC),
    )
    w.order(
        1,
        distributor_id=12,
        state="complete",
        completed_at=dt.datetime(2026, 5, 3, 9, tzinfo=UTC),
        total="200.50",
    )
    w.order(
        2,
        distributor_id=12,
        state="complete",
        completed_at=dt.datetime(2026, 5, 30, 9, tzinfo=UTC),
        total="50.50",
    )
    sqlite_replica.commit()
    instance = sqlite_replica.instance("uk", name="OFN UK")
    IssuerProfile.objects.create(
        instance=instance, legal_name="Open Food Network UK CIC"
    )
    PricingPlan.objects.create(
        instance=instance,
        name="UK standard",
        effective_from=dt.date(2024, 1, 1),
        fixed_fee=Decimal("10.01"),
        turnover_rate=Decimal("0.02"),
        tax_rate=Decimal("0.20"),
    )
    billing_run_execute(instance=instance, month=Month(2026, 5))
    user = get_user_model().objects.create_user("manager-uk", password=PASSWORD)
    Membership.objects.create(user=user, instance=instance, role=Role.MANAGER)
    return instance


def test_manager_reviews_finalises_sends_and_exports_a_month(
    may_run, live_server, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    run_url = f"{live_server.url}/instances/uk/billing/runs/2026-05/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        page = browser.new_page(accept_downloads=True)
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "manager-uk")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit], input[type=submit]")

        # review the run: two drafts, Hill Farm's 10.01 + 5.02 + VAT 3.01 = 18.04
        page.goto(run_url)
        rows = page.locator("[data-test=invoice-row]")
        expect(rows).to_have_count(2)
        expect(page.locator("[data-test=run-invoices]")).to_contain_text("£18.04")

        # open Hill Farm's invoice and the orders behind its turnover share
        page.locator("[data-test=invoice-link]", has_text="hill@example.org").click()
        expect(page.locator("[data-test=invoice-net]")).to_contain_text("£15.03")
        page.locator("[data-test=line-orders-link]").last.click()
        orders = page.locator("[data-test=line-orders]")
        expect(orders).to_contain_text("R000000001")
        expect(orders).to_contain_text("R000000002")

        # finalise every draft, then send
        page.goto(run_url)
        page.click("[data-test=finalise-all]")
        expect(page.locator("[data-test=run-invoices]")).to_contain_text("UK-2026-0001")
        expect(page.locator("[data-test=run-invoices]")).to_contain_text("UK-2026-0002")
        page.click("[data-test=send-all]")
        expect(page.locator("[data-test=send-sent]")).to_have_text("2")

        # download both CSVs
        exports = {}
        for name in ("export-csv-link", "export-xero-link"):
            with page.expect_download() as download_info:
                page.click(f"[data-test={name}]")
            path = tmp_path / name
            download_info.value.save_as(path)
            exports[name] = path.read_bytes()
        browser.close()

    # then: one email per subject, each with its PDF
    assert sorted(message.to[0] for message in mail.outbox) == [
        "dale@example.org",
        "hill@example.org",
    ]
    assert all(m.attachments[0][2] == "application/pdf" for m in mail.outbox)
    assert set(Invoice.objects.values_list("status", flat=True)) == {"sent"}
    # and the accountant CSV holds the figures as plain numbers after a BOM
    for content in exports.values():
        assert content.startswith(b"\xef\xbb\xbf")
    rows = list(
        csv.DictReader(io.StringIO(exports["export-csv-link"].decode("utf-8-sig")))
    )
    # finalised in subject order: Dale (10.01 + 0.00, VAT 2.00) then Hill
    assert [(row["number"], row["net"], row["gross"]) for row in rows] == [
        ("UK-2026-0001", "10.01", "12.01"),
        ("UK-2026-0002", "15.03", "18.04"),
    ]
