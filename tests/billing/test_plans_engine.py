"""The plan engine's issue-3 components, pure (no database): tiers in volume and
graduated mode (Katuma, B16), per-order fees, minimum charge, one-off charges, plan
versions and assignments by day, segments and tax per rate. Figures worked by hand."""

import datetime as dt
from decimal import Decimal

import pytest

from billing import engine
from portal.exceptions import BillingError

D = Decimal
MAY = [dt.date(2026, 5, day) for day in range(1, 32)]


def terms(**figures) -> engine.PlanTerms:
    values = {
        "label": "Plan",
        "currency": "EUR",
        "fixed_fee": D("0"),
        "turnover_rate": D("0"),
        "monthly_cap": None,
        "minimum_billable_turnover": D("0"),
        "tax_rate": D("0"),
        "prices_include_tax": False,
    }
    values.update(figures)
    return engine.PlanTerms(**values)


def shop(turnover="0", *, days=31, of=31, orders=0, **extra) -> engine.ShopMonth:
    return engine.ShopMonth(
        enterprise_id=1,
        name="Shop",
        category="producer_shop",
        billable_days=days,
        days_in_month=of,
        turnover=D(turnover),
        order_count=orders,
        **extra,
    )


def amounts(lines) -> list[tuple[str, Decimal]]:
    return [(line.component, line.amount) for line in lines]


def tiers(*rows) -> tuple[engine.Tier, ...]:
    return tuple(
        engine.Tier(D(bound), D(flat), D(rate), D(unit))
        for bound, flat, rate, unit in rows
    )


KATUMA_PRODUCERS = terms(
    tax_rate=D("0.21"),
    tier_measure="turnover",
    tier_mode="volume",
    tiers=tiers(
        ("0", "2", "0", "0"),
        ("200", "15", "0", "0"),
        ("500", "30", "0", "0"),
        ("1000", "50", "0.01", "0"),
    ),
)
KATUMA_GROUPS = terms(
    tax_rate=D("0.21"),
    tier_measure="registered_customers",
    tier_mode="volume",
    tiers=tiers(
        ("0", "2", "0", "0"),
        ("15", "15", "0", "0"),
        ("40", "30", "0", "0"),
        ("80", "50", "0.01", "0"),
    ),
)


@pytest.mark.parametrize(
    ("sales", "expected"),
    [
        ("0.00", [("tier", "2.00")]),
        ("199.99", [("tier", "2.00")]),
        ("200.00", [("tier", "15.00")]),
        ("499.99", [("tier", "15.00")]),
        ("500.00", [("tier", "30.00")]),
        ("999.99", [("tier", "30.00")]),
        # 50 + 1 % of 1,000.00 and of 1,500.00
        ("1000.00", [("tier", "50.00"), ("turnover_share", "10.00")]),
        ("1500.00", [("tier", "50.00"), ("turnover_share", "15.00")]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_shop_lines_katuma_producer_volume_tiers(sales, expected):
    lines = engine.shop_lines(terms=KATUMA_PRODUCERS, shop=shop(sales))
    assert amounts(lines) == [(c, D(a)) for c, a in expected]
    assert {line.tax_rate for line in lines} == {D("0.21")}


@pytest.mark.parametrize(
    ("households", "sales", "expected"),
    [
        (14, "900.00", [("tier", "2.00")]),
        (15, "900.00", [("tier", "15.00")]),
        (50, "900.00", [("tier", "30.00")]),
        (79, "900.00", [("tier", "30.00")]),
        # 50 + 1 % of the month's sales 2,000.00
        (90, "2000.00", [("tier", "50.00"), ("turnover_share", "20.00")]),
    ],
    ids=["14", "15", "50", "79", "90"],
)
def test_shop_lines_katuma_group_tiers_on_households(households, sales, expected):
    lines = engine.shop_lines(
        terms=KATUMA_GROUPS, shop=shop(sales, customers=households)
    )
    assert amounts(lines) == [(c, D(a)) for c, a in expected]


def test_shop_lines_tier_explanation_names_the_tier_reached():
    # given: 1,500.00 of sales over 3 orders
    (tier, share) = engine.shop_lines(
        terms=KATUMA_PRODUCERS, shop=shop("1500.00", orders=3)
    )

    # then
    assert tier.explanation["inputs"]["tier"]["label"] == "1000 and over turnover"
    assert tier.explanation["inputs"]["tier"]["index"] == 3
    assert tier.explanation["inputs"]["orders"] == 3
    assert share.explanation["inputs"]["turnover"] == "1500.00"
    assert "1 % of 1500.00 EUR" in share.rule


B16 = terms(
    currency="GBP",
    tier_measure="completed_orders",
    tier_mode="graduated",
    tiers=tiers(("0", "0", "0", "0"), ("250", "0", "0", "0.10")),
)


@pytest.mark.parametrize(
    ("orders", "fee"),
    [(0, "0.00"), (250, "0.00"), (251, "0.10"), (300, "5.00")],
    ids=["0", "250", "251", "300"],
)
def test_shop_lines_b16_graduated_orders(orders, fee):
    lines = engine.shop_lines(terms=B16, shop=shop("1000.00", orders=orders))
    assert amounts(lines) == [("tier", D(fee))]


def test_shop_lines_graduated_turnover_prices_each_band_with_its_rate():
    # given: 1 % up to 1,000, 0.5 % above, flat 5 in the first band only
    plan = terms(
        tier_measure="turnover",
        tier_mode="graduated",
        tiers=tiers(("0", "5", "0.01", "0"), ("1000", "0", "0.005", "0")),
    )

    # when: 1,500.00 = 1,000.00 at 1 % + 500.00 at 0.5 %
    lines = engine.shop_lines(terms=plan, shop=shop("1500.00"))

    # then: flat 5.00, share 10.00 + 2.50
    assert amounts(lines) == [("tier", D("5.00")), ("turnover_share", D("12.50"))]


def test_shop_lines_rule_6_prorates_tier_flat_fee_but_not_bounds():
    # given: 600.00 sold in 12 of 31 days; bounds unprorated keep it in the 500 tier
    lines = engine.shop_lines(terms=KATUMA_PRODUCERS, shop=shop("600.00", days=12))

    # then: 30 x 12/31 = 11.6129 -> 11.61 (a prorated bound 1000 x 12/31 = 387 would
    # have put it in the top tier)
    assert amounts(lines) == [("tier", D("11.61"))]


def test_shop_lines_below_the_first_tier_has_no_tier_line():
    plan = terms(
        fixed_fee=D("3"),
        tier_measure="turnover",
        tiers=tiers(("100", "10", "0", "0")),
    )
    assert amounts(engine.shop_lines(terms=plan, shop=shop("99.99"))) == [
        ("fixed_fee", D("3.00"))
    ]


@pytest.mark.parametrize(
    ("fees", "expected"),
    [
        # B17 plan 1: 0.30 (floor of 0.20) + 2.00 + 5.00 (ceiling of 8.00)
        ("7.30000000", "7.30"),
        # B17 plan 3: 0.405 + 0.405, rounded once
        ("0.81000000", "0.81"),
        ("0.40500000", "0.41"),
    ],
    ids=["b17-plan-1", "b17-plan-3", "half-cent-up"],
)
def test_shop_lines_b17_per_order_line_rounds_the_sum_once(fees, expected):
    plan = terms(
        currency="GBP",
        per_order_rate=D("0.02"),
        per_order_floor=D("0.30"),
        per_order_ceiling=D("5.00"),
    )
    lines = engine.shop_lines(terms=plan, shop=shop(per_order_fees=D(fees), orders=3))
    assert amounts(lines) == [("per_order", D(expected))]
    assert "at least 0.30 GBP and at most 5.00 GBP an order" in lines[0].rule


@pytest.mark.parametrize(
    ("turnover", "days", "expected"),
    [
        # 2 % of 100 = 2.00, raised to the minimum 5.00
        ("100.00", 31, [("turnover_share", "2.00"), ("minimum_charge", "3.00")]),
        # 2 % of 300 = 6.00 is over the minimum
        ("300.00", 31, [("turnover_share", "6.00")]),
        # 15 of 31 days: minimum 5 x 15/31 = 2.4194 -> 2.42; 2 % of 50 = 1.00
        ("50.00", 15, [("turnover_share", "1.00"), ("minimum_charge", "1.42")]),
    ],
    ids=["raised", "over", "part-month"],
)
def test_shop_lines_minimum_charge(turnover, days, expected):
    plan = terms(turnover_rate=D("0.02"), minimum_charge=D("5"))
    lines = engine.shop_lines(terms=plan, shop=shop(turnover, days=days))
    assert amounts(lines) == [(c, D(a)) for c, a in expected]


def test_shop_lines_under_minimum_turnover_ignores_minimum_charge():
    # rule 7: under the minimum billable turnover nothing at all is charged
    plan = terms(minimum_billable_turnover=D("500"), minimum_charge=D("5"))
    assert amounts(engine.shop_lines(terms=plan, shop=shop("499.99"))) == [
        ("below_minimum", D("0"))
    ]


CAPITAL = engine.OneOff("capital", "Member capital", D("100"), taxable=False)


def test_one_off_lines_member_capital_untaxed_once():
    plan = terms(tax_rate=D("0.21"), one_offs=(CAPITAL,))

    first = engine.one_off_lines(terms=plan, shop=shop())
    again = engine.one_off_lines(terms=plan, shop=shop(), charged={"capital"})
    in_trial = engine.one_off_lines(terms=plan, shop=shop(days=0))

    assert [(x.component, x.amount, x.tax_rate, x.one_off_code) for x in first] == [
        ("one_off", D("100.00"), D("0"), "capital")
    ]
    assert "without tax" in first[0].rule
    assert again == []
    assert in_trial == []


def test_lines_totals_tax_per_rate_capital_without_vat():
    # given: Katuma producer 1,500.00 (65.00 at 21 %) and 100.00 capital at 0 %
    totals = engine.lines_totals(
        lines=[
            (D("50.00"), D("0.21"), False),
            (D("15.00"), D("0.21"), False),
            (D("100.00"), D("0"), False),
        ],
        currency="EUR",
    )

    # then: 21 % of 65.00 = 13.65, once
    assert (totals.net, totals.tax, totals.gross) == (
        D("165.00"),
        D("13.65"),
        D("178.65"),
    )
    assert totals.breakdown == {
        "0.0000": {"net": "100.00", "tax": "0.00"},
        "0.2100": {"net": "65.00", "tax": "13.65"},
    }


def test_lines_totals_b19_inclusive_tax_extracted_from_the_gross():
    totals = engine.lines_totals(
        lines=[(D("13.90"), D("0.20"), True), (D("49.00"), D("0.20"), True)],
        currency="GBP",
    )
    assert (totals.net, totals.tax, totals.gross) == (
        D("52.42"),
        D("10.48"),
        D("62.90"),
    )
    assert totals.breakdown == {"0.2000": {"net": "52.42", "tax": "10.48"}}


# Plan versions, assignments and segments


def version(code, start, **figures) -> engine.PlanTerms:
    return terms(
        code=code,
        name=code.title(),
        effective_from=start,
        label=f"{code} {start}",
        **figures,
    )


V1 = version("standard", dt.date(2026, 1, 1), fixed_fee=D("30"))
V2 = version("standard", dt.date(2026, 5, 16), fixed_fee=D("62"))
NEGOTIATED = version("negotiated", dt.date(2026, 1, 1), applies_to=())


def test_plan_catalogue_bills_each_day_by_the_version_in_force():
    catalogue = engine.PlanCatalogue([V2, V1, NEGOTIATED])

    def on(day):
        return catalogue.for_day(enterprise_id=1, category="hub", day=day)

    assert on(dt.date(2026, 5, 15)) is V1
    assert on(dt.date(2026, 5, 16)) is V2
    assert on(dt.date(2025, 12, 31)) is None


def test_plan_catalogue_assignment_overrides_for_its_dates():
    eleventh, twentieth = dt.date(2026, 5, 11), dt.date(2026, 5, 20)
    catalogue = engine.PlanCatalogue(
        [V1, NEGOTIATED], [engine.Assignment(7, "negotiated", eleventh, twentieth)]
    )

    def on(shop_id, day):
        return catalogue.for_day(enterprise_id=shop_id, category="hub", day=day)

    assert on(7, dt.date(2026, 5, 10)) is V1
    assert on(7, dt.date(2026, 5, 11)) is NEGOTIATED
    assert on(7, dt.date(2026, 5, 20)) is NEGOTIATED
    assert on(7, dt.date(2026, 5, 21)) is V1
    assert on(8, dt.date(2026, 5, 15)) is V1


def test_plan_catalogue_two_plans_for_one_category_is_an_error():
    other = version("other", dt.date(2026, 1, 1), applies_to=("hub",))
    catalogue = engine.PlanCatalogue([V1, other])

    with pytest.raises(BillingError, match="Plans other, standard all apply to hub"):
        catalogue.for_day(enterprise_id=1, category="hub", day=dt.date(2026, 5, 1))
    # producers are billed by `standard` alone
    assert (
        catalogue.for_day(
            enterprise_id=1, category="producer_shop", day=dt.date(2026, 5, 1)
        )
        is V1
    )


def test_shop_segments_split_by_version_and_skip_trial_days():
    # given: a shop since 2026-05-01 with a 5-day trial in v1; v2 from 16 May
    v1 = version("standard", dt.date(2026, 1, 1), fixed_fee=D("30"), trial_days=5)
    v2 = version("standard", dt.date(2026, 5, 16), fixed_fee=D("62"), trial_days=5)

    # when
    plan = engine.shop_segments(
        catalogue=engine.PlanCatalogue([v1, v2]),
        enterprise_id=1,
        category="hub",
        shop_days=MAY,
        became_shop_on=dt.date(2026, 5, 1),
    )

    # then: trial 1-5 May; v1 6-15 May (10 days), v2 16-31 May (16 days)
    assert plan.trial_days == tuple(MAY[:5])
    assert plan.trial_ends_on == dt.date(2026, 5, 5)
    assert [(s.index, s.terms, len(s.days)) for s in plan.segments] == [
        (0, v1, 10),
        (1, v2, 16),
    ]
    assert plan.segments[0].days[0] == dt.date(2026, 5, 6)


def test_shop_lines_prorated_per_segment_sum_to_the_month():
    # 30 x 15/31 = 14.516 -> 14.52 and 62 x 16/31 = 32.00
    first = engine.shop_lines(terms=V1, shop=shop(days=15))
    second = engine.shop_lines(terms=V2, shop=shop(days=16, segment=1))
    assert amounts(first) + amounts(second) == [
        ("fixed_fee", D("14.52")),
        ("fixed_fee", D("32.00")),
    ]
    assert second[0].explanation["plan"]["effective_from"] == "2026-05-16"
    assert second[0].explanation["inputs"]["segment"] == 1
