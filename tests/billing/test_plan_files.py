"""Plan files (docs/plans.md): the example files, round trips, every check, commands."""

import copy
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from billing.models import (
    Invoice,
    OneOffCharge,
    PlanTier,
    PricingPlan,
    ShopPlanAssignment,
)
from billing.plan_format import PlanFileInvalid
from billing.services import plans as plan_services
from billing.services.plans import plans_export, plans_import
from portal.models import AuditEvent
from tests.billing.factories import BillingRunFactory, InvoiceFactory
from tests.instances.factories import InstanceFactory

pytestmark = pytest.mark.django_db

PLANS = settings.BASE_DIR / "plans"


def example(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text(encoding="utf-8"))


def canada_instance():
    return InstanceFactory(
        slug="ca", currency="CAD", country="CA", time_zone="America/Toronto"
    )


def katuma_instance():
    return InstanceFactory(
        slug="katuma",
        currency="EUR",
        country="ES",
        time_zone="Europe/Madrid",
        language="es",
        invoice_prefix="KAT",
    )


def plan_row(plan: PricingPlan) -> dict:
    """Every column of a version with its tiers and one-offs, without ids or times."""
    columns = {
        f.name: getattr(plan, f.name)
        for f in PricingPlan._meta.concrete_fields
        if f.name not in ("id", "instance", "created_at", "updated_at")
    }
    columns["tiers"] = [
        (t.lower_bound, t.flat_fee, t.turnover_rate, t.unit_price)
        for t in plan.tiers.order_by("lower_bound")
    ]
    columns["one_offs"] = [
        (c.code, c.description, c.amount, c.taxable)
        for c in plan.one_off_charges.order_by("code")
    ]
    return columns


def rows_of(instance) -> list[dict]:
    plans = PricingPlan.objects.filter(instance=instance).order_by(
        "code", "effective_from"
    )
    return [plan_row(plan) for plan in plans]


def problems_of(error) -> list[str]:
    return [str(problem) for problem in error.value.problems]


# ------------------------------------------------------------- the example files


def test_plans_import_canada_file_creates_its_plan():
    # given
    instance = canada_instance()

    # when
    result = plans_import(document=example("ofn-canada"))

    # then
    plan = PricingPlan.objects.get(instance=instance)
    assert result.created == ["standard from 2024-01-01"]
    assert (plan.code, plan.name, plan.effective_from, plan.currency) == (
        "standard",
        "OFN Canada",
        dt.date(2024, 1, 1),
        "CAD",
    )
    assert plan.applies_to == ["producer_shop", "producer_hub", "hub"]
    assert plan.turnover_rate == Decimal("0.02")
    assert plan.monthly_cap == Decimal("150.00")
    assert plan.minimum_billable_turnover == Decimal("500.00")
    assert (plan.fixed_fee, plan.tax_rate, plan.trial_days) == (0, 0, 0)
    assert plan.minimum_charge is None
    assert not plan.prices_include_tax
    assert plan.tier_measure == ""
    assert not plan.tiers.exists()
    assert not plan.one_off_charges.exists()


def test_plans_import_katuma_file_creates_producer_and_consumer_group_plans():
    # given
    instance = katuma_instance()

    # when
    plans_import(document=example("katuma"))

    # then
    producers = PricingPlan.objects.get(instance=instance, code="producers")
    groups = PricingPlan.objects.get(instance=instance, code="consumer-groups")
    for plan in (producers, groups):
        assert (plan.currency, plan.tax_rate, plan.prices_include_tax) == (
            "EUR",
            Decimal("0.21"),
            False,
        )
        assert plan.trial_days == 30
        assert plan.tier_mode == "volume"
        assert list(plan.one_off_charges.values_list("code", "amount", "taxable")) == [
            ("member-capital", Decimal("100.00"), False)
        ]
    assert producers.applies_to == ["producer_shop", "producer_hub"]
    assert groups.applies_to == ["hub"]
    assert producers.tier_measure == "turnover"
    assert groups.tier_measure == "registered_customers"
    tiers = [
        (t.lower_bound, t.flat_fee, t.turnover_rate)
        for t in producers.tiers.order_by("lower_bound")
    ]
    assert tiers == [
        (Decimal("0"), Decimal("2.00"), Decimal("0")),
        (Decimal("200"), Decimal("15.00"), Decimal("0")),
        (Decimal("500"), Decimal("30.00"), Decimal("0")),
        (Decimal("1000"), Decimal("50.00"), Decimal("0.01")),
    ]
    bounds = list(
        groups.tiers.order_by("lower_bound").values_list("lower_bound", "flat_fee")
    )
    assert bounds == [
        (Decimal("0"), Decimal("2.00")),
        (Decimal("15"), Decimal("15.00")),
        (Decimal("40"), Decimal("30.00")),
        (Decimal("80"), Decimal("50.00")),
    ]
    assert groups.tiers.get(lower_bound=80).turnover_rate == Decimal("0.01")


def test_plans_import_legacy_uk_file_creates_two_versions_and_a_negotiated_plan():
    # given
    instance = InstanceFactory(slug="uk")

    # when
    plans_import(document=example("ofn-legacy-uk"))

    # then
    rows = PricingPlan.objects.filter(instance=instance).order_by(
        "code", "effective_from"
    )
    assert [
        (p.code, p.effective_from, p.fixed_fee, p.turnover_rate, p.monthly_cap)
        for p in rows
    ] == [
        ("community", dt.date(2024, 1, 1), 0, Decimal("0.01"), Decimal("25")),
        ("standard", dt.date(2024, 1, 1), 5, Decimal("0.02"), Decimal("50")),
        ("standard", dt.date(2025, 4, 1), 6, Decimal("0.02"), Decimal("60")),
    ]
    assert rows[0].applies_to == []
    assert rows[2].minimum_billable_turnover == Decimal("100")
    assert {p.tax_rate for p in rows} == {Decimal("0.2")}


def test_plans_import_legacy_au_file_adds_gst_and_a_trial():
    # given
    instance = InstanceFactory(slug="au", currency="AUD", time_zone="Australia/Sydney")

    # when
    plans_import(document=example("ofn-legacy-au"))

    # then
    plan = PricingPlan.objects.get(instance=instance)
    assert (plan.fixed_fee, plan.turnover_rate, plan.monthly_cap) == (
        Decimal("5.00"),
        Decimal("0.02"),
        Decimal("50.00"),
    )
    assert (plan.tax_rate, plan.prices_include_tax, plan.trial_days) == (
        Decimal("0.1"),
        False,
        30,
    )


@pytest.mark.parametrize(
    ("name", "currency"),
    [
        ("ofn-canada", "CAD"),
        ("katuma", "EUR"),
        ("ofn-legacy-uk", "GBP"),
        ("ofn-legacy-au", "AUD"),
    ],
)
def test_plans_export_writes_each_example_file_back_unchanged(name, currency):
    # given
    document = example(name)
    instance = InstanceFactory(slug=document["instance"], currency=currency)
    plans_import(document=document)

    # when
    exported = plans_export(instance=instance)

    # then
    assert exported == document


# -------------------------------------------------------------------- round trips


def awkward_plans(instance) -> None:
    """Rows that use every column, with values a careless writer would round."""
    plan = PricingPlan.objects.create(
        instance=instance,
        code="everything",
        name="Every component",
        description="",
        effective_from=dt.date(2025, 2, 28),
        currency="GBP",
        applies_to=["hub", "producer_shop"],
        turnover_basis="item_total",
        fixed_fee=Decimal("10.0050"),
        turnover_rate=Decimal("0.012345"),
        monthly_cap=Decimal("99.9999"),
        minimum_billable_turnover=Decimal("0.0001"),
        tax_rate=Decimal("0.0550"),
        prices_include_tax=True,
        trial_days=14,
        minimum_charge=Decimal("1.2300"),
        per_order_rate=Decimal("0.025000"),
        per_order_floor=Decimal("0.3000"),
        per_order_ceiling=None,
        tier_measure="completed_orders",
        tier_mode="graduated",
    )
    PlanTier.objects.create(plan=plan, lower_bound=0)
    PlanTier.objects.create(plan=plan, lower_bound=250, unit_price=Decimal("0.1"))
    PlanTier.objects.create(
        plan=plan,
        lower_bound=1000,
        unit_price=Decimal("0.0750"),
        flat_fee=Decimal("2"),
        turnover_rate=Decimal("0.000001"),
    )
    OneOffCharge.objects.create(
        plan=plan, code="setup", description="Set-up", amount=Decimal("25")
    )
    OneOffCharge.objects.create(
        plan=plan,
        code="capital",
        description="Member capital",
        amount=Decimal("100.0000"),
        taxable=False,
    )
    PricingPlan.objects.create(
        instance=instance,
        code="empty",
        name="Only assigned shops",
        effective_from=dt.date(2024, 1, 1),
        currency="GBP",
        applies_to=[],
        tier_mode="graduated",
    )
    ShopPlanAssignment.objects.create(
        instance=instance,
        enterprise_id=42,
        plan_code="empty",
        starts_on=dt.date(2024, 3, 1),
        ends_on=dt.date(2024, 12, 31),
        note="Pilot year",
    )
    ShopPlanAssignment.objects.create(
        instance=instance,
        enterprise_id=42,
        plan_code="everything",
        starts_on=dt.date(2025, 3, 1),
    )


def test_plans_export_then_import_gives_identical_rows():
    # given
    source = InstanceFactory(slug="uk")
    target = InstanceFactory(slug="uk-copy")
    awkward_plans(source)

    # when
    document = json.loads(json.dumps(plans_export(instance=source)))
    result = plans_import(instance=target, document=document)

    # then
    assert sorted(result.created) == [
        "empty from 2024-01-01",
        "everything from 2025-02-28",
    ]
    assert rows_of(target) == rows_of(source)
    copied = ShopPlanAssignment.objects.filter(instance=target).order_by("starts_on")
    assert [
        (a.enterprise_id, a.plan_code, a.starts_on, a.ends_on, a.note) for a in copied
    ] == [
        (42, "empty", dt.date(2024, 3, 1), dt.date(2024, 12, 31), "Pilot year"),
        (42, "everything", dt.date(2025, 3, 1), None, ""),
    ]


def test_plans_export_writes_exact_decimal_strings():
    # given
    instance = InstanceFactory(slug="uk")
    awkward_plans(instance)

    # when
    plan = plans_export(instance=instance)["plans"][1]

    # then
    assert plan["fixed_fee"] == "10.005"
    assert plan["turnover_rate"] == "0.012345"
    assert plan["monthly_cap"] == "99.9999"
    assert plan["minimum_billable_turnover"] == "0.0001"
    assert plan["tax_rate"] == "0.055"
    assert plan["per_order"] == {"rate": "0.025", "floor": "0.30", "ceiling": None}
    assert plan["tiers"]["bands"][1] == {
        "from": "250",
        "flat_fee": "0.00",
        "turnover_rate": "0",
        "unit_price": "0.10",
    }
    assert plan["applies_to"] == ["hub", "producer_shop"]


def test_plans_import_same_file_twice_changes_nothing():
    # given
    instance = katuma_instance()
    plans_import(document=example("katuma"))
    before = rows_of(instance)
    stamps = list(PricingPlan.objects.values_list("updated_at", flat=True))
    audits = AuditEvent.objects.count()

    # when
    result = plans_import(document=example("katuma"))

    # then
    assert result.created == result.replaced == []
    assert result.unchanged == [
        "consumer-groups from 2024-01-01",
        "producers from 2024-01-01",
    ]
    assert rows_of(instance) == before
    assert list(PricingPlan.objects.values_list("updated_at", flat=True)) == stamps
    assert AuditEvent.objects.count() == audits


def test_plans_import_replaces_a_changed_version_in_place():
    # given
    instance = canada_instance()
    plans_import(document=example("ofn-canada"))
    plan_id = PricingPlan.objects.get().pk
    document = example("ofn-canada")
    document["plans"][0]["monthly_cap"] = "200.00"

    # when
    result = plans_import(document=document)

    # then
    plan = PricingPlan.objects.get(instance=instance)
    assert result.replaced == ["standard from 2024-01-01"]
    assert (plan.pk, plan.monthly_cap) == (plan_id, Decimal("200.00"))


def test_plans_import_updates_assignments_by_shop_code_and_start():
    # given
    instance = canada_instance()
    document = example("ofn-canada")
    document["assignments"] = [
        {
            "enterprise_id": 7,
            "plan_code": "standard",
            "starts_on": "2025-01-01",
            "ends_on": None,
            "note": "",
        }
    ]
    plans_import(document=document)
    document["assignments"][0].update(ends_on="2025-06-30", note="Closed in June")

    # when
    result = plans_import(document=document)

    # then
    row = ShopPlanAssignment.objects.get(instance=instance)
    assert (result.assignments_created, result.assignments_updated) == (0, 1)
    assert (row.ends_on, row.note) == (dt.date(2025, 6, 30), "Closed in June")


# ------------------------------------------------------------------------ checks


def set_in(document: dict, path: tuple, value) -> None:
    target = document
    for key in path[:-1]:
        target = target[key]
    if isinstance(target, list) and path[-1] == len(target):
        target.append(value)
    else:
        target[path[-1]] = value


KATUMA_CASES = [
    (
        ("plans", 0, "fixed_fees"),
        "5.00",
        "plans[0].fixed_fees: unknown field; did you mean 'fixed_fee'?",
    ),
    (
        ("plans", 0, "fixed_fee"),
        "5,00",
        "plans[0].fixed_fee: '5,00' is not a number: write it like '5.00'",
    ),
    (
        ("plans", 0, "fixed_fee"),
        5,
        'plans[0].fixed_fee: write it as a string such as "5.00" '
        "(JSON numbers are not exact)",
    ),
    (
        ("plans", 0, "monthly_cap"),
        "-1.00",
        "plans[0].monthly_cap: must not be negative",
    ),
    (
        ("plans", 1, "one_off_charges", 0, "amount"),
        "-100.00",
        "plans[1].one_off_charges[0].amount: must not be negative",
    ),
    (
        ("plans", 0, "fixed_fee"),
        "1.00001",
        "plans[0].fixed_fee: has more than 4 decimal places",
    ),
    (
        ("plans", 0, "turnover_rate"),
        "2",
        "plans[0].turnover_rate: 2 is more than 100 %: a rate is a fraction, "
        "0.02 is 2 %",
    ),
    (
        ("plans", 0, "applies_to"),
        ["hub", "shop"],
        "plans[0].applies_to: unknown category 'shop': choose among producer_shop, "
        "producer_hub, hub",
    ),
    (
        ("plans", 1, "currency"),
        "GBP",
        "plans[1].currency: must be EUR, the currency of katuma (got 'GBP')",
    ),
    (
        ("plans", 1, "tiers", "bands", 1, "from"),
        "500.00",
        "plans[1].tiers.bands[2].from: must be greater than 500",
    ),
    (
        ("plans", 1, "tiers", "bands", 0, "from"),
        "10.00",
        "plans[1].tiers.bands[0].from: the first band must start at 0",
    ),
    (
        ("plans", 0, "tiers", "bands", 1, "from"),
        "15.5",
        "plans[0].tiers.bands[1].from: must be a whole number of customers",
    ),
    (
        ("plans", 0, "tiers", "measure"),
        "households",
        "plans[0].tiers.measure: 'households' is not one of 'turnover', "
        "'completed_orders', 'registered_customers'",
    ),
    (
        ("plans", 0, "effective_from"),
        "2024-02-30",
        "plans[0].effective_from: '2024-02-30' is not a date: write YYYY-MM-DD",
    ),
    (
        ("plans", 0, "effective_from"),
        "01/01/2024",
        "plans[0].effective_from: '01/01/2024' is not a date: write YYYY-MM-DD",
    ),
    (
        ("plans", 0, "trial_days"),
        "30",
        "plans[0].trial_days: must be a whole number",
    ),
    (
        ("plans", 0, "prices_include_tax"),
        "no",
        "plans[0].prices_include_tax: must be true or false",
    ),
    (
        ("plans", 0, "per_order"),
        {"rate": "0.02", "floor": "0.30", "ceiling": "0.20"},
        "plans[0].per_order.ceiling: must be at least the floor 0.30",
    ),
    (
        ("plans", 0, "minimum_charge"),
        "60.00",
        None,  # no cap in Katuma's plans: a minimum charge alone is fine
    ),
    (
        ("plans", 1, "one_off_charges", 1),
        {"code": "member-capital", "description": "Again", "amount": "1.00"},
        "plans[1].one_off_charges[1].code: repeats 'member-capital' of "
        "plans[1].one_off_charges[0]",
    ),
    (
        ("plans", 1, "applies_to"),
        ["producer_shop", "producer_hub", "hub"],
        "plans[1].applies_to: hub shops would also be billed by plan consumer-groups "
        "from 2024-01-01; a category belongs to one plan at a time (assign the "
        "exceptions to shops instead)",
    ),
    (
        ("format",),
        "ofn-portal-plans/2",
        "format: must be 'ofn-portal-plans/1' (got 'ofn-portal-plans/2')",
    ),
    (
        ("plans", 0, "tiers"),
        {"measure": "turnover", "mode": "volume", "bands": []},
        "plans[0].tiers.bands: must list at least one band",
    ),
    (
        ("assignments",),
        [{"enterprise_id": 5, "plan_code": "groups", "starts_on": "2024-05-01"}],
        "assignments[0].plan_code: no plan 'groups' in katuma or in this file",
    ),
    (
        ("assignments",),
        [
            {
                "enterprise_id": 5,
                "plan_code": "producers",
                "starts_on": "2024-05-01",
                "ends_on": "2024-04-30",
            }
        ],
        "assignments[0].ends_on: must not be before starts_on 2024-05-01",
    ),
    (
        ("assignments",),
        [{"enterprise_id": 5, "plan_code": "producers", "starts_on": "2023-12-01"}],
        "assignments[0].starts_on: plan producers has no version in force on "
        "2023-12-01; its first starts on 2024-01-01",
    ),
    (
        ("assignments",),
        [
            {"enterprise_id": 5, "plan_code": "producers", "starts_on": "2024-05-01"},
            {
                "enterprise_id": 5,
                "plan_code": "consumer-groups",
                "starts_on": "2024-08-01",
            },
        ],
        "assignments[1]: overlaps the assignment of shop 5 to producers from "
        "2024-05-01; a shop follows one assignment at a time",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    KATUMA_CASES,
    ids=[
        "unknown-field",
        "bad-decimal",
        "number-not-string",
        "negative-money",
        "negative-one-off",
        "too-many-places",
        "rate-over-one",
        "unknown-category",
        "currency",
        "tier-bounds-not-rising",
        "tier-not-from-zero",
        "fractional-household-bound",
        "unknown-measure",
        "impossible-date",
        "date-format",
        "trial-days-string",
        "bool-string",
        "ceiling-below-floor",
        "minimum-charge-without-cap",
        "repeated-one-off",
        "category-in-two-plans",
        "format",
        "empty-bands",
        "assignment-unknown-plan",
        "assignment-ends-before-start",
        "assignment-before-plan",
        "assignment-overlap",
    ],
)
def test_plans_import_reports_each_problem_with_its_json_path(path, value, message):
    # given
    katuma_instance()
    document = example("katuma")
    set_in(document, path, value)

    # when
    if message is None:
        plans_import(document=document)
        return
    with pytest.raises(PlanFileInvalid) as error:
        plans_import(document=document)

    # then
    assert problems_of(error) == [message]
    assert PricingPlan.objects.count() == 0


def test_plans_import_reports_every_problem_at_once():
    # given
    katuma_instance()
    document = example("katuma")
    document["plans"][0]["monthly_cap"] = "10.00"
    document["plans"][0]["minimum_charge"] = "12.00"
    del document["plans"][1]["name"]
    document["plans"][1]["tiers"]["bands"][3]["turnover_rate"] = "0.01%"
    document["extra"] = True

    # when
    with pytest.raises(PlanFileInvalid) as error:
        plans_import(document=document)

    # then
    assert problems_of(error) == [
        "extra: unknown field",
        "plans[0].minimum_charge: must not exceed the monthly cap 10.00",
        "plans[1].name: is required",
        "plans[1].tiers.bands[3].turnover_rate: '0.01%' is not a number: write it "
        "like '0.02'",
    ]
    assert str(error.value).startswith("4 problems, nothing imported: extra: unknown")
    assert "\n" not in str(error.value)


def test_plans_import_refuses_a_file_naming_an_unknown_instance():
    # when
    with pytest.raises(PlanFileInvalid) as error:
        plans_import(document=example("ofn-canada"))

    # then
    assert problems_of(error) == [
        "instance: no instance 'ca' in this portal; register it, or import into "
        "another instance with --instance"
    ]


def test_plans_import_refuses_a_version_listed_twice():
    # given
    canada_instance()
    document = example("ofn-canada")
    document["plans"].append(copy.deepcopy(document["plans"][0]))

    # when
    with pytest.raises(PlanFileInvalid) as error:
        plans_import(document=document)

    # then
    assert problems_of(error) == [
        "plans[1]: repeats the version standard from 2024-01-01 of plans[0]"
    ]


# -------------------------------------------------------------------- atomicity


def test_plans_import_with_one_bad_plan_writes_none():
    # given: the second version is fine in itself but not in this instance's currency
    canada_instance()
    document = example("ofn-canada")
    later = copy.deepcopy(document["plans"][0])
    later.update(effective_from="2025-01-01", currency="USD")
    document["plans"].append(later)

    # when
    with pytest.raises(PlanFileInvalid):
        plans_import(document=document)

    # then
    assert PricingPlan.objects.count() == 0
    assert PlanTier.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_plans_import_failing_while_writing_leaves_nothing(monkeypatch):
    # given: the database fails on the second version
    katuma_instance()
    real = plan_services._version_write
    calls = []

    def failing(**kwargs):
        calls.append(kwargs["plan"].code)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(plan_services, "_version_write", failing)

    # when
    with pytest.raises(RuntimeError):
        plans_import(document=example("katuma"))

    # then
    assert calls == ["consumer-groups", "producers"]
    assert PricingPlan.objects.count() == 0
    assert OneOffCharge.objects.count() == 0


# ------------------------------------------------------- versions already billed


def finalised_invoice(plan: PricingPlan, *, month=dt.date(2026, 5, 1), number="CA-1"):
    run = BillingRunFactory(instance=plan.instance, month=month)
    return InvoiceFactory(
        run=run,
        plan=plan,
        status=Invoice.Status.FINALISED,
        number=number,
        currency="CAD",
    )


def test_plans_import_refuses_to_replace_a_version_a_finalised_invoice_used():
    # given
    canada_instance()
    plans_import(document=example("ofn-canada"))
    finalised_invoice(PricingPlan.objects.get(), number="CA-2026-0001")
    document = example("ofn-canada")
    document["plans"][0]["monthly_cap"] = "200.00"

    # when
    with pytest.raises(PlanFileInvalid) as error:
        plans_import(document=document)

    # then
    assert problems_of(error) == [
        "plans[0]: the version standard from 2024-01-01 was used by finalised "
        "invoice CA-2026-0001 and cannot change; give the change a later "
        "effective_from to make it a new version"
    ]
    assert PricingPlan.objects.get().monthly_cap == Decimal("150.00")


def test_plans_import_leaves_a_billed_version_alone_when_unchanged():
    # given
    canada_instance()
    plans_import(document=example("ofn-canada"))
    finalised_invoice(PricingPlan.objects.get())

    # when
    result = plans_import(document=example("ofn-canada"))

    # then
    assert result.unchanged == ["standard from 2024-01-01"]


def test_plans_import_replaces_a_version_only_drafts_used():
    # given
    canada_instance()
    plans_import(document=example("ofn-canada"))
    plan = PricingPlan.objects.get()
    InvoiceFactory(run=BillingRunFactory(instance=plan.instance), plan=plan)
    document = example("ofn-canada")
    document["plans"][0]["monthly_cap"] = "200.00"

    # when
    result = plans_import(document=document)

    # then
    assert result.replaced == ["standard from 2024-01-01"]


@pytest.mark.parametrize(
    ("effective_from", "message"),
    [
        ("2026-06-01", None),
        (
            "2026-05-31",
            "plans[1].effective_from: invoices of 2026-05 billed with plan standard "
            "are finalised; a new version must start on 2026-06-01 or later",
        ),
    ],
    ids=["after-finalised-month", "inside-finalised-month"],
)
def test_plans_import_new_version_starts_after_the_last_finalised_month(
    effective_from, message
):
    # given
    canada_instance()
    plans_import(document=example("ofn-canada"))
    finalised_invoice(PricingPlan.objects.get(), month=dt.date(2026, 5, 1))
    document = example("ofn-canada")
    change = copy.deepcopy(document["plans"][0])
    change.update(effective_from=effective_from, monthly_cap="200.00")
    document["plans"].append(change)

    # when
    if message is None:
        result = plans_import(document=document)
        assert result.created == [f"standard from {effective_from}"]
        return
    with pytest.raises(PlanFileInvalid) as error:
        plans_import(document=document)

    # then
    assert problems_of(error) == [message]


# ---------------------------------------------------------------------- commands


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_plans_command_imports_a_file():
    # given
    katuma_instance()

    # when
    out = run("import_plans", str(PLANS / "katuma.json"))

    # then
    assert out == (
        "katuma: imported 2 new plan versions, 0 replaced, 0 unchanged; "
        "assignments 0 new, 0 updated, 0 unchanged.\n"
    )
    assert PricingPlan.objects.count() == 2


def test_import_plans_dry_run_writes_nothing():
    # given
    instance = InstanceFactory(slug="ofn-ca", currency="CAD")

    # when
    out = run(
        "import_plans",
        str(PLANS / "ofn-canada.json"),
        "--instance",
        "ofn-ca",
        "--dry-run",
    )

    # then
    assert out.startswith("ofn-ca: would import 1 new plan versions, 0 replaced")
    assert not PricingPlan.objects.filter(instance=instance).exists()
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Cannot read"),
        ('{"format": ', "the file is not JSON: Expecting value at line 1 column 12"),
        (
            '{"format": "ofn-portal-plans/1", "instance": "ca", "plans": [{}]}',
            "4 problems, nothing imported: plans[0].code: is required; "
            "plans[0].name: is required",
        ),
    ],
    ids=["missing-file", "not-json", "invalid"],
)
def test_import_plans_command_fails_in_one_line(tmp_path, content, message):
    # given
    canada_instance()
    path = tmp_path / "plans.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    # when
    with pytest.raises(CommandError) as error:
        run("import_plans", str(path))

    # then
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_export_plans_command_writes_the_file_atomically(tmp_path):
    # given
    katuma_instance()
    plans_import(document=example("katuma"))
    output = tmp_path / "katuma.json"
    output.write_text("old", encoding="utf-8")

    # when
    out = run("export_plans", "katuma", "--output", str(output))

    # then
    assert out == f"Plans of katuma written to {output}.\n"
    assert output.read_text(encoding="utf-8") == (PLANS / "katuma.json").read_text(
        encoding="utf-8"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["katuma.json"]


def test_export_plans_command_prints_to_standard_output():
    # given
    canada_instance()
    plans_import(document=example("ofn-canada"))

    # when
    out = run("export_plans", "ca")

    # then
    assert json.loads(out) == example("ofn-canada")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "No instance 'nowhere'"),
        (["ca", "--output", "/nonexistent/folder/plans.json"], "Cannot write"),
    ],
    ids=["unknown-instance", "unwritable"],
)
def test_export_plans_command_fails_in_one_line(args, message):
    # given
    canada_instance()

    # when
    with pytest.raises(CommandError) as error:
        run("export_plans", *args)

    # then
    assert message in str(error.value)
    assert "\n" not in str(error.value)
