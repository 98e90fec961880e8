"""The plan engine (pure) and its part-month rules through billing runs (B06, B12, B13,
B15, B17, B18, B19, rules 5-7). Expected figures are worked out by hand."""

import datetime as dt
from decimal import Decimal

import pytest

from billing import engine
from billing.models import PricingPlan, ShopPlanAssignment
from billing.selectors import line_orders
from billing.services import billing_run_execute
from portal.periods import Month

UTC = dt.UTC
D = Decimal


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def terms(**figures) -> engine.PlanTerms:
    values = {
        "label": "Plan",
        "currency": "GBP",
        "fixed_fee": D("0"),
        "turnover_rate": D("0"),
        "monthly_cap": None,
        "minimum_billable_turnover": D("0"),
        "tax_rate": D("0"),
        "prices_include_tax": False,
    }
    values.update(figures)
    return engine.PlanTerms(**values)


def shop(turnover="0", *, days=30, of=30, orders=1) -> engine.ShopMonth:
    return engine.ShopMonth(
        enterprise_id=1,
        name="Shop",
        category="hub",
        billable_days=days,
        days_in_month=of,
        turnover=D(turnover),
        order_count=orders,
    )


def amounts(lines) -> list[tuple[str, Decimal]]:
    return [(line.component, line.amount) for line in lines]


def test_invoice_totals_b06_tax_once_on_the_net():
    # 10.01 + 5.02 = 15.03; 20 % of it is 3.006 -> 3.01 (per line: 2.00 + 1.00 = 3.00)
    totals = engine.invoice_totals(
        amounts=[D("10.01"), D("5.02")], terms=terms(tax_rate=D("0.20"))
    )
    assert (totals.net, totals.tax, totals.gross) == (
        D("15.03"),
        D("3.01"),
        D("18.04"),
    )


@pytest.mark.parametrize(
    ("rate", "lines", "net", "tax", "gross"),
    [
        # 62.90 - 62.90 / 1.2 = 10.4833 -> 10.48 (per-line nets would give 52.41)
        ("0.20", ["13.90", "49.00"], "52.42", "10.48", "62.90"),
        # 21.35 - 21.35 / 1.21 = 3.7054 -> 3.71 (per-line: 21.36 gross)
        ("0.21", ["13.90", "7.45"], "17.64", "3.71", "21.35"),
    ],
    ids=["uk-20", "es-21"],
)
def test_invoice_totals_b19_inclusive_tax_keeps_the_gross(rate, lines, net, tax, gross):
    totals = engine.invoice_totals(
        amounts=[D(a) for a in lines],
        terms=terms(tax_rate=D(rate), prices_include_tax=True),
    )
    assert (totals.net, totals.tax, totals.gross) == (D(net), D(tax), D(gross))


def test_shop_lines_b13_share_rounded_once():
    # 2.5 % of 2,413.00 = 60.325 -> 60.33
    lines = engine.shop_lines(
        terms=terms(turnover_rate=D("0.025")), shop=shop("2413.00")
    )
    assert amounts(lines) == [("turnover_share", D("60.33"))]


def test_shop_lines_b17_plan_2_cap():
    # 2 % of 2,512.50 = 50.25, capped at 50.00
    lines = engine.shop_lines(
        terms=terms(turnover_rate=D("0.02"), monthly_cap=D("50")),
        shop=shop("2512.50"),
    )
    assert amounts(lines) == [("turnover_share", D("50.25")), ("cap", D("-0.25"))]
    assert sum(line.amount for line in lines) == D("50.00")


@pytest.mark.parametrize(
    ("currency", "figures", "turnover", "expected"),
    [
        # 1,000 + 2 % of 123,456 (2,469.12 -> 2,469) = 3,469
        ("JPY", {"fixed_fee": D("1000")}, "123456", [D("1000"), D("2469")]),
        # 2 % of 1,234.567 = 24.69134 -> 24.691
        ("BHD", {}, "1234.567", [D("24.691")]),
    ],
    ids=["jpy", "bhd"],
)
def test_shop_lines_b12_currency_minor_units(currency, figures, turnover, expected):
    lines = engine.shop_lines(
        terms=terms(currency=currency, turnover_rate=D("0.02"), **figures),
        shop=shop(turnover),
    )
    assert [line.amount for line in lines] == expected
    assert [str(line.amount) for line in lines] == [str(e) for e in expected]


@pytest.mark.parametrize(
    ("turnover", "expected"),
    [
        ("499.99", [("below_minimum", D("0"))]),
        ("500.00", [("fixed_fee", D("5.00")), ("turnover_share", D("10.00"))]),
    ],
    ids=["under", "equal"],
)
def test_shop_lines_rule_7_minimum_charges_whole_turnover(turnover, expected):
    lines = engine.shop_lines(
        terms=terms(
            fixed_fee=D("5"),
            turnover_rate=D("0.02"),
            minimum_billable_turnover=D("500"),
        ),
        shop=shop(turnover),
    )
    assert amounts(lines) == expected


@pytest.mark.parametrize(
    ("turnover", "expected"),
    [
        # 12 of 30 days: minimum 500 x 12/30 = 200, cap 150 x 12/30 = 60, fee 4.00
        ("199.99", [("below_minimum", D("0"))]),
        ("200.00", [("fixed_fee", D("4.00")), ("turnover_share", D("20.00"))]),
        (
            "1000.00",
            [
                ("fixed_fee", D("4.00")),
                ("turnover_share", D("100.00")),
                ("cap", D("-44.00")),
            ],
        ),
    ],
    ids=["under-prorated-minimum", "at-prorated-minimum", "over-prorated-cap"],
)
def test_shop_lines_rule_6_prorates_fee_minimum_and_cap(turnover, expected):
    lines = engine.shop_lines(
        terms=terms(
            fixed_fee=D("10"),
            turnover_rate=D("0.10"),
            monthly_cap=D("150"),
            minimum_billable_turnover=D("500"),
        ),
        shop=shop(turnover, days=12, of=30),
    )
    assert amounts(lines) == expected


@pytest.mark.parametrize(
    ("days", "of", "fee"),
    [(23, 30, "23.00"), (14, 28, "15.00"), (12, 31, "11.61"), (31, 31, "30.00")],
    ids=["b15-a-april", "b15-b-february", "b18-may", "full-month"],
)
def test_shop_lines_b15_fixed_fee_by_billable_days(days, of, fee):
    lines = engine.shop_lines(
        terms=terms(fixed_fee=D("30")), shop=shop(days=days, of=of)
    )
    assert amounts(lines) == [("fixed_fee", D(fee))]


def test_shop_lines_no_billable_day_is_a_free_trial_line():
    lines = engine.shop_lines(terms=terms(fixed_fee=D("30")), shop=shop(days=0, of=31))
    assert amounts(lines) == [("trial", D("0"))]


# Through billing runs, on the replica (UK, Europe/London)


def _plan(instance, **figures) -> PricingPlan:
    values = {"fixed_fee": D("30"), **figures}
    return PricingPlan.objects.create(
        instance=instance,
        name="Thirty a month",
        effective_from=dt.date(2026, 1, 1),
        **values,
    )


def _lines(run) -> dict[int, list[tuple[str, Decimal]]]:
    result = {}
    for invoice in run.invoices.all():
        for line in invoice.lines.all():
            result.setdefault(line.enterprise_id, []).append(
                (line.component, line.amount)
            )
    return result


@pytest.mark.django_db
def test_billing_run_execute_b15_prorates_from_the_local_start_day(pg_replica):
    # given: A became a shop at 00:30 BST on 8 April (7 April in UTC); B on 15 Feb
    w = pg_replica.writer
    w.user(1, "a@example.com", at(2025, 1, 1))
    w.user(2, "b@example.com", at(2025, 1, 1))
    w.enterprise(1, owner_id=1, sells="any", created_at=at(2026, 4, 7, 23, 30))
    w.enterprise(2, owner_id=2, sells="own", created_at=at(2026, 2, 15, 9))
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    _plan(instance)

    # when
    february = billing_run_execute(instance=instance, month=Month(2026, 2))
    april = billing_run_execute(instance=instance, month=Month(2026, 4))

    # then: 30 x 14/28 and 30 x 23/30
    assert _lines(february) == {2: [("fixed_fee", D("15.00"))]}
    assert _lines(april) == {
        1: [("fixed_fee", D("23.00"))],
        2: [("fixed_fee", D("30.00"))],
    }
    (line,) = april.invoices.get(subject_key="owner:1").lines.all()
    assert (line.billable_days, line.days_in_month) == (23, 30)


@pytest.mark.django_db
def test_billing_run_execute_b18_trial_end_prorated_once(pg_replica):
    # given: a profile since January became a shop at 00:30 BST on 1 May; 19-day trial
    w = pg_replica.writer
    w.user(1, "a@example.com", at(2025, 1, 1))
    w.enterprise(1, owner_id=1, sells="any", created_at=at(2026, 1, 1))
    w.version(
        1, enterprise_id=1, sells_before="none", created_at=at(2026, 4, 30, 23, 30)
    )
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    _plan(instance, trial_days=19)
    may = billing_run_execute(instance=instance, month=Month(2026, 5))
    first = [(i.pk, [line.pk for line in i.lines.all()]) for i in may.invoices.all()]

    # when
    again = billing_run_execute(instance=instance, month=Month(2026, 5))
    june = billing_run_execute(instance=instance, month=Month(2026, 6))
    april = billing_run_execute(instance=instance, month=Month(2026, 4))

    # then: paid 20-31 May, 30 x 12/31 = 11.6129 -> 11.61, one line
    assert _lines(again) == {1: [("fixed_fee", D("11.61"))]}
    assert [
        (i.pk, [line.pk for line in i.lines.all()]) for i in again.invoices.all()
    ] == first
    assert again.invoices.get().gross == D("11.61")
    assert _lines(june) == {1: [("fixed_fee", D("30.00"))]}
    assert _lines(april) == {}


@pytest.mark.django_db
def test_billing_run_execute_trial_covering_the_month_bills_nothing(pg_replica):
    # given
    w = pg_replica.writer
    w.user(1, "a@example.com", at(2025, 1, 1))
    w.enterprise(1, owner_id=1, sells="any", created_at=at(2026, 4, 30, 23, 30))
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    _plan(instance, trial_days=31)

    # when
    may = billing_run_execute(instance=instance, month=Month(2026, 5))
    june = billing_run_execute(instance=instance, month=Month(2026, 6))

    # then: trial 1-31 May; nothing to bill in May, all of June
    assert may.invoices.count() == 0
    assert _lines(june) == {1: [("fixed_fee", D("30.00"))]}


@pytest.mark.django_db
def test_billing_run_execute_rebilling_a_month_uses_later_versions(pg_replica):
    # given: shop 1 stopped selling on 10 June; profile 2 started selling on 20 June.
    # Each version row holds `sells` as it was before the change.
    w = pg_replica.writer
    w.user(1, "a@example.com", at(2025, 1, 1))
    w.user(2, "b@example.com", at(2025, 1, 1))
    w.enterprise(1, owner_id=1, sells="none", created_at=at(2024, 1, 1))
    w.enterprise(2, owner_id=2, sells="any", created_at=at(2024, 1, 1))
    w.version(1, enterprise_id=1, sells_before="any", created_at=at(2026, 6, 10, 12))
    w.version(2, enterprise_id=2, sells_before="none", created_at=at(2026, 6, 20, 12))
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    _plan(instance)

    # when: May is (re)billed after both changes
    may = billing_run_execute(instance=instance, month=Month(2026, 5))
    june = billing_run_execute(instance=instance, month=Month(2026, 6))

    # then: May: shop 1 only; June: 1-10 June (10/30) and 20-30 June (11/30)
    assert _lines(may) == {1: [("fixed_fee", D("30.00"))]}
    assert _lines(june) == {
        1: [("fixed_fee", D("10.00"))],
        2: [("fixed_fee", D("11.00"))],
    }


CAP_EDGES = [
    # exact 0.008 > cap 0.006, but the lines round to 0.00: no +0.01 "cap" line
    ("0.004", "0.0004", "0.006", "10", [("fixed_fee", "0"), ("turnover_share", "0")]),
    # exact 150 is not above the cap 150: no zero cap line
    ("0", "0.02", "150", "7500", [("turnover_share", "150.00")]),
]


@pytest.mark.parametrize(
    ("fee", "rate", "cap", "turnover", "expected"),
    CAP_EDGES,
    ids=["lines-round-below-cap", "exactly-at-cap"],
)
def test_shop_lines_cap_never_adds(fee, rate, cap, turnover, expected):
    lines = engine.shop_lines(
        terms=terms(fixed_fee=D(fee), turnover_rate=D(rate), monthly_cap=D(cap)),
        shop=shop(turnover),
    )
    assert amounts(lines) == [(component, D(amount)) for component, amount in expected]


def _orders(writer, shop_id, rows, first_id=1):
    writer.insert_many(
        "spree_orders",
        [
            writer.order_row(
                first_id + n,
                distributor_id=shop_id,
                state="complete",
                completed_at=when,
                total=total,
            )
            for n, (when, total) in enumerate(rows)
        ],
    )


def _shop(replica, shop_id=1, orders=()):
    replica.writer.user(shop_id, f"o{shop_id}@example.com", at(2024, 1, 1))
    replica.writer.enterprise(
        shop_id, owner_id=shop_id, sells="any", created_at=at(2024, 1, 1)
    )
    _orders(replica.writer, shop_id, orders, first_id=shop_id * 100)


TAXED = [
    # B06: 10.01 + 2 % of 251.00 = 15.03 net; 20 % of it once: 3.006 -> 3.01
    ("uk", "GBP", "10.01", "0.02", "251.00", "0.20", False, "15.03", "3.01", "18.04"),
    # B13: 2.5 % of 2,413.00 = 60.325 -> 60.33
    ("uk", "GBP", "0", "0.025", "2413.00", "0", False, "60.33", "0.00", "60.33"),
    # B19: 13.90 + 10 % of 490.00 = 62.90 gross; VAT 62.90 - 62.90/1.2 = 10.48
    ("uk", "GBP", "13.90", "0.10", "490.00", "0.20", True, "52.42", "10.48", "62.90"),
    # B19 ES: 13.90 + 5 % of 149.00 = 21.35 gross; 21.35 - 21.35/1.21 = 3.7054
    ("es", "EUR", "13.90", "0.05", "149.00", "0.21", True, "17.64", "3.71", "21.35"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "currency", "fee", "rate", "sales", "tax_rate", "inclusive")
    + ("net", "tax", "gross"),
    TAXED,
    ids=["b06-uk-vat-once", "b13", "b19-uk-inclusive", "b19-es-inclusive"],
)
def test_billing_run_execute_tax_once_per_invoice(
    pg_replica, slug, currency, fee, rate, sales, tax_rate, inclusive, net, tax, gross
):
    # given
    _shop(pg_replica, orders=[(at(2026, 5, 12, 12), sales)])
    pg_replica.commit()
    instance = pg_replica.instance(slug, currency=currency)
    _plan(
        instance,
        fixed_fee=D(fee),
        turnover_rate=D(rate),
        tax_rate=D(tax_rate),
        prices_include_tax=inclusive,
    )

    # when
    run = billing_run_execute(instance=instance, month=Month(2026, 5))

    # then: the lines keep their rounded amounts; tax is computed once on their sum
    (invoice,) = run.invoices.all()
    assert (invoice.net, invoice.tax, invoice.gross) == (D(net), D(tax), D(gross))
    assert invoice.tax_breakdown == {f"{D(tax_rate):.4f}": {"net": net, "tax": tax}}
    assert sum(line.amount for line in invoice.lines.all()) == D(
        gross if inclusive else net
    )


@pytest.mark.django_db
def test_billing_run_execute_plan_change_mid_month_prorates_each_version(pg_replica):
    # given: version 1 (30.00 + 1 %) until 15 May, version 2 (62.00 + 2 %) from 16 May
    _shop(
        pg_replica,
        orders=[(at(2026, 5, 10, 12), "100.00"), (at(2026, 5, 20, 12), "200.00")],
    )
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    old = _plan(instance, turnover_rate=D("0.01"))
    new = PricingPlan.objects.create(
        instance=instance,
        name="Thirty a month",
        effective_from=dt.date(2026, 5, 16),
        fixed_fee=D("62"),
        turnover_rate=D("0.02"),
    )

    # when
    run = billing_run_execute(instance=instance, month=Month(2026, 5))

    # then: 30 x 15/31 = 14.52 and 1 % of 100.00; 62 x 16/31 = 32.00 and 2 % of 200.00
    (invoice,) = run.invoices.all()
    lines = list(invoice.lines.all())
    assert [(x.component, x.amount, x.plan_id) for x in lines] == [
        ("fixed_fee", D("14.52"), old.pk),
        ("turnover_share", D("1.00"), old.pk),
        ("fixed_fee", D("32.00"), new.pk),
        ("turnover_share", D("4.00"), new.pk),
    ]
    assert invoice.gross == D("51.52")
    assert [(x.billable_days, x.turnover) for x in lines] == [
        (15, D("100.00")),
        (15, D("100.00")),
        (16, D("200.00")),
        (16, D("200.00")),
    ]
    assert lines[2].explanation["plan"] == {
        "id": new.pk,
        "code": "standard",
        "name": "Thirty a month",
        "effective_from": "2026-05-16",
    }
    assert lines[3].explanation["window"]["ranges"] == [
        ["2026-05-15T23:00:00+00:00", "2026-05-31T23:00:00+00:00"]
    ]
    assert [o["total"] for o in line_orders(instance=instance, line=lines[1])] == [
        D("100.00")
    ]

    # and re-billing April uses version 1 alone
    april = billing_run_execute(instance=instance, month=Month(2026, 4))
    assert [line.amount for line in april.invoices.get().lines.all()] == [
        D("30.00"),
        D("0.00"),
    ]


@pytest.mark.django_db
def test_billing_run_execute_assignment_overrides_the_plan_for_its_dates(pg_replica):
    # given: shop 2 is on a negotiated 10.00 plan from 11 to 20 May (10 days)
    _shop(pg_replica, 1)
    _shop(pg_replica, 2)
    pg_replica.commit()
    instance = pg_replica.instance("uk")
    _plan(instance, fixed_fee=D("31"))
    negotiated = PricingPlan.objects.create(
        instance=instance,
        code="negotiated",
        name="Negotiated",
        effective_from=dt.date(2026, 1, 1),
        applies_to=[],
        fixed_fee=D("10"),
    )
    ShopPlanAssignment.objects.create(
        instance=instance,
        enterprise_id=2,
        plan_code="negotiated",
        starts_on=dt.date(2026, 5, 11),
        ends_on=dt.date(2026, 5, 20),
    )

    # when
    run = billing_run_execute(instance=instance, month=Month(2026, 5))

    # then: shop 1 31.00; shop 2 31 x 21/31 = 21.00 and 10 x 10/31 = 3.2258 -> 3.23
    assert _lines(run) == {
        1: [("fixed_fee", D("31.00"))],
        2: [("fixed_fee", D("21.00")), ("fixed_fee", D("3.23"))],
    }
    line = run.invoices.get(subject_key="owner:2").lines.get(plan=negotiated)
    assert line.explanation["window"]["ranges"] == [
        ["2026-05-10T23:00:00+00:00", "2026-05-20T23:00:00+00:00"]
    ]
