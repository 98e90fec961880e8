"""The pricing plan pages: who may read and change plans, and what they say."""

import datetime as dt
import html
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.models import Invoice, PricingPlan, ShopPlanAssignment
from billing.plan_words import plan_sentences
from billing.services.plans import plans_export, plans_import
from portal.models import Role
from tests.billing.factories import BillingRunFactory, InvoiceFactory
from tests.instances.factories import InstanceFactory
from tests.portal.factories import AdminFactory, MembershipFactory

pytestmark = pytest.mark.django_db

PLANS = settings.BASE_DIR / "plans"
# Noon in Madrid on 15 June 2025: the UK file's April 2025 version is in force.
NOW = dt.datetime(2025, 6, 15, 10, 0, tzinfo=dt.UTC)


def example(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text(encoding="utf-8"))


def text(response) -> str:
    """The page's visible text, tags dropped and spaces collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(body))


def url(name: str, instance, **kwargs) -> str:
    return reverse(f"billing:{name}", kwargs={"slug": instance.slug, **kwargs})


@pytest.fixture
def katuma():
    instance = InstanceFactory(
        slug="katuma",
        currency="EUR",
        country="ES",
        time_zone="Europe/Madrid",
        language="es",
        invoice_prefix="KAT",
    )
    plans_import(document=example("katuma"))
    return instance


@pytest.fixture
def canada():
    instance = InstanceFactory(slug="ca", currency="CAD", time_zone="America/Toronto")
    plans_import(document=example("ofn-canada"))
    return instance


def manager_of(instance):
    return MembershipFactory(instance=instance, role=Role.MANAGER).user


def accountant_of(instance):
    return MembershipFactory(instance=instance, role=Role.ACCOUNTANT).user


def version(instance, code: str) -> PricingPlan:
    return PricingPlan.objects.filter(instance=instance, code=code).latest(
        "effective_from"
    )


# ------------------------------------------------------------------------ reading


@time_machine.travel(NOW, tick=False)
def test_plan_list_shows_each_code_with_its_versions_and_the_one_in_force(client):
    # given
    uk = InstanceFactory(slug="uk")
    plans_import(document=example("ofn-legacy-uk"))
    client.force_login(accountant_of(uk))

    # when
    response = client.get(url("plans", uk))

    # then
    assert response.status_code == 200
    page = response.content.decode()
    states = re.findall(r'data-test="plan-version" data-state="([a-z-]+)"', page)
    assert states == ["in-force", "past", "in-force"]
    shown = text(response)
    assert "Community rate (negotiated) community" in shown
    assert "1 Jan 2024 31 Mar 2025 past" in shown
    assert "1 Apr 2025 open-ended in force" in shown
    assert "assigned shops only" in shown
    assert "Producer shop, producer hub, hub" in shown
    assert 'data-test="plan-edit-link"' not in page
    assert 'data-test="plans-export"' in page


def test_plan_list_queries_do_not_grow_with_versions(
    client, katuma, django_assert_max_num_queries
):
    # given: four more versions of each code
    for year in (2025, 2026):
        for month in (1, 7):
            document = example("katuma")
            for plan in document["plans"]:
                plan["effective_from"] = f"{year}-{month:02d}-01"
            plans_import(document=document)
    client.force_login(manager_of(katuma))

    # when
    with django_assert_max_num_queries(6):
        response = client.get(url("plans", katuma))

    # then
    assert response.content.decode().count('data-test="plan-version"') == 10


def test_plan_version_page_says_the_canada_plan_in_words(client, canada):
    # given
    client.force_login(AdminFactory())

    # when
    response = client.get(
        url("plan-version", canada, pk=version(canada, "standard").pk)
    )

    # then
    sentences = re.findall(
        r'data-test="plan-sentence">([^<]*)<', html.unescape(response.content.decode())
    )
    assert sentences == [
        "Bills producer shops, producer hubs and hubs by default.",
        "2 % of sales once turnover reaches 500.00, capped at 150.00 per month.",
        "No tax.",
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "producers",
            [
                "Bills producer shops and producer hubs by default.",
                "Free for the first 30 days after a shop opens.",
                "By turnover of the month (the band reached prices the whole month): "
                "under 200.00: 2.00; 200.00 to under 500.00: 15.00; 500.00 to under "
                "1,000.00: 30.00; 1,000.00 and over: 50.00 plus 1 % of sales.",
                "21 % tax added on top.",
                "Once per shop, on its first invoice after the trial: Capital social "
                "(aportación reembolsable) 100.00 without tax.",
            ],
        ),
        (
            "consumer-groups",
            [
                "Bills hubs by default.",
                "Free for the first 30 days after a shop opens.",
                "By registered customers (the band reached prices the whole month): "
                "under 15: 2.00; 15 to under 40: 15.00; 40 to under 80: 30.00; "
                "80 and over: 50.00 plus 1 % of sales.",
                "21 % tax added on top.",
                "Once per shop, on its first invoice after the trial: Capital social "
                "(aportación reembolsable) 100.00 without tax.",
            ],
        ),
    ],
    ids=["producers", "consumer-groups"],
)
def test_plan_version_page_says_the_katuma_plans_in_words(
    client, katuma, code, expected
):
    # given
    client.force_login(accountant_of(katuma))

    # when
    response = client.get(url("plan-version", katuma, pk=version(katuma, code).pk))

    # then
    sentences = re.findall(
        r'data-test="plan-sentence">([^<]*)<', html.unescape(response.content.decode())
    )
    assert sentences == expected
    assert 'data-test="plan-new-version"' not in response.content.decode()


def test_plan_version_page_shows_figures_as_the_file_writes_them(client, katuma):
    # given
    client.force_login(manager_of(katuma))

    # when
    response = client.get(
        url("plan-version", katuma, pk=version(katuma, "producers").pk)
    )

    # then
    shown = text(response)
    assert "1000.00 50.00 0.01 0.00" in shown
    assert "Capital social (aportación reembolsable) member-capital 100.00 no tax" in (
        shown
    )


# ----------------------------------------------------------------------- changing


@time_machine.travel(NOW, tick=False)
def test_plan_new_version_copies_the_version_then_edits_the_copy(client, katuma):
    # given
    client.force_login(manager_of(katuma))
    current = version(katuma, "producers")

    # when: ask for a new version, then change its top tier in the copy
    form = client.get(url("plan-new-version", katuma, pk=current.pk))
    created = client.post(
        url("plan-new-version", katuma, pk=current.pk),
        {"effective_from": "2025-07-01", "name": ""},
    )
    copy = PricingPlan.objects.get(
        instance=katuma, code="producers", effective_from=dt.date(2025, 7, 1)
    )
    edit = client.get(created.url)
    data = form_data(edit)
    data["tiers-3-flat_fee"] = "55.00"
    saved = client.post(created.url, data)

    # then
    assert 'value="2025-07-01"' in form.content.decode()
    assert created.status_code == 302
    assert created.url == url("plan-edit", katuma, pk=copy.pk)
    assert saved.status_code == 302
    assert saved.url == url("plan-version", katuma, pk=copy.pk)
    copy.refresh_from_db()
    assert copy.name == "Productores"
    assert list(copy.tiers.values_list("lower_bound", "flat_fee", "turnover_rate")) == [
        (Decimal("0"), Decimal("2.00"), Decimal("0")),
        (Decimal("200"), Decimal("15.00"), Decimal("0")),
        (Decimal("500"), Decimal("30.00"), Decimal("0")),
        (Decimal("1000"), Decimal("55.00"), Decimal("0.01")),
    ]
    assert list(copy.one_off_charges.values_list("code", "amount", "taxable")) == [
        ("member-capital", Decimal("100.00"), False)
    ]
    assert current.tiers.get(lower_bound=1000).flat_fee == Decimal("50.00")
    page = text(client.get(saved.url))
    assert "1,000.00 and over: 55.00 plus 1 % of sales." in page
    assert "1 Jul 2025 scheduled" in page


def form_data(response) -> dict:
    """What a browser would post back from the page's plan form, unchanged."""
    page = response.content.decode()
    form = page[page.index('data-test="plan-form"') :]
    data = {}
    for tag in re.findall(r"<(?:input|select|textarea)[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="submit"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag:
            if "checked" in tag:
                data.setdefault(name.group(1), []).append(
                    value.group(1) if value else "on"
                )
            continue
        if tag.startswith("<select"):
            field = re.escape(name.group(1))
            option = r'<option value="([^"]*)"[^>]*selected'
            chosen = re.search(rf'name="{field}".*?{option}', form, re.S)
            data[name.group(1)] = chosen.group(1) if chosen else ""
            continue
        if tag.startswith("<textarea"):
            body = re.search(
                rf'name="{re.escape(name.group(1))}"[^>]*>(.*?)</textarea>', form, re.S
            )
            data[name.group(1)] = html.unescape(body.group(1)).strip()
            continue
        data[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return data


def test_plan_edit_shows_a_problem_at_its_tier(client, katuma):
    # given
    client.force_login(manager_of(katuma))
    producers = version(katuma, "producers")
    data = form_data(client.get(url("plan-edit", katuma, pk=producers.pk)))
    data["tiers-1-lower_bound"] = "0"  # two bands from 0

    # when
    response = client.post(url("plan-edit", katuma, pk=producers.pk), data)

    # then
    assert response.status_code == 200
    errors = re.findall(r'data-test="field-error">([^<]*)<', response.content.decode())
    assert errors == ["must be greater than 0"]
    assert producers.tiers.filter(lower_bound=200).exists()


def test_plan_edit_refuses_a_version_a_finalised_invoice_used(client, canada):
    # given
    plan = version(canada, "standard")
    run = BillingRunFactory(instance=canada, month=dt.date(2026, 5, 1))
    InvoiceFactory(
        run=run,
        plan=plan,
        status=Invoice.Status.FINALISED,
        number="CA-2026-0007",
        currency="CAD",
    )
    client.force_login(manager_of(canada))

    # when
    page = client.get(url("plan-edit", canada, pk=plan.pk))
    refused = client.post(
        url("plan-edit", canada, pk=plan.pk), {"name": "Changed", "fixed_fee": "9"}
    )
    detail = client.get(url("plan-version", canada, pk=plan.pk))

    # then
    assert 'data-test="plan-form"' not in page.content.decode()
    assert "finalised invoice CA-2026-0007 used it" in text(page)
    assert refused.status_code == 409
    assert "cannot be edited" in text(refused)
    plan.refresh_from_db()
    assert (plan.name, plan.fixed_fee) == ("OFN Canada", Decimal("0"))
    assert "Finalised invoice CA-2026-0007 used this version" in text(detail)
    assert 'data-test="plan-edit"' not in detail.content.decode()


def test_plan_new_creates_a_plan_from_the_form(client):
    # given
    uk = InstanceFactory(slug="uk")
    client.force_login(manager_of(uk))

    # when
    response = client.post(
        url("plan-new", uk),
        {
            "code": "busy-hubs",
            "name": "Busy hubs",
            "description": "",
            "effective_from": "2026-01-01",
            "turnover_basis": "item_total",
            "tax_percent": "20",
            "prices_include_tax": "on",
            "trial_days": "0",
            "fixed_fee": "0",
            "turnover_percent": "",
            "minimum_billable_turnover": "0",
            "per_order_percent": "2",
            "per_order_floor": "0.30",
            "per_order_ceiling": "5.00",
            "tier_measure": "completed_orders",
            "tier_mode": "graduated",
            "tiers-TOTAL_FORMS": "2",
            "tiers-INITIAL_FORMS": "0",
            "tiers-0-lower_bound": "0",
            "tiers-1-lower_bound": "250",
            "tiers-1-unit_price": "0.10",
            "charges-TOTAL_FORMS": "1",
            "charges-INITIAL_FORMS": "0",
        },
    )

    # then
    plan = PricingPlan.objects.get(instance=uk, code="busy-hubs")
    assert response.status_code == 302
    assert plan.applies_to == []
    assert (plan.tax_rate, plan.prices_include_tax) == (Decimal("0.2"), True)
    assert (plan.per_order_rate, plan.per_order_floor, plan.per_order_ceiling) == (
        Decimal("0.02"),
        Decimal("0.30"),
        Decimal("5.00"),
    )
    assert list(plan.tiers.values_list("lower_bound", "unit_price")) == [
        (Decimal("0"), Decimal("0")),
        (Decimal("250"), Decimal("0.10")),
    ]
    words = text(client.get(response.url))
    assert "By completed orders of the month (each band priced separately): " in words
    assert "under 250: nothing; 250 and over: 0.10 per order." in words
    assert "2 % of each order (at least 0.30 and at most 5.00 per order)." in words
    assert "Prices include 20 % tax." in words


# ---------------------------------------------------------------- files on pages


def test_plan_export_downloads_the_plan_file(client, katuma):
    # given
    client.force_login(accountant_of(katuma))

    # when
    with time_machine.travel(NOW, tick=False):
        response = client.get(url("plans-export", katuma))

    # then
    assert response["Content-Disposition"] == (
        'attachment; filename="plans-katuma-2025-06-15.json"'
    )
    assert json.loads(response.content) == plans_export(instance=katuma)
    assert json.loads(response.content) == example("katuma")


def upload(document) -> SimpleUploadedFile:
    content = document if isinstance(document, bytes) else json.dumps(document).encode()
    return SimpleUploadedFile("plans.json", content, content_type="application/json")


def test_plan_import_page_imports_a_file(client):
    # given
    instance = InstanceFactory(slug="ca-test", currency="CAD")
    client.force_login(manager_of(instance))

    # when
    response = client.post(
        url("plans-import", instance), {"file": upload(example("ofn-canada"))}
    )

    # then
    assert response.status_code == 302
    assert PricingPlan.objects.get(instance=instance).monthly_cap == Decimal("150")
    listing = text(client.get(response.url))
    assert "ca-test: imported 1 new plan versions" in listing


def test_plan_import_page_lists_every_problem_and_writes_nothing(client, katuma):
    # given
    client.force_login(manager_of(katuma))
    document = example("katuma")
    document["plans"][1]["tiers"]["bands"][1]["from"] = "500.00"
    document["plans"][0]["currency"] = "GBP"

    # when
    response = client.post(url("plans-import", katuma), {"file": upload(document)})

    # then
    assert response.status_code == 200
    shown = text(response)
    assert "2 problems: nothing was imported" in shown
    assert (
        "plans[0].currency : must be EUR, the currency of katuma (got 'GBP')" in shown
    )
    assert "plans[1].tiers.bands[2].from : must be greater than 500" in shown
    assert version(katuma, "producers").tiers.filter(lower_bound=200).exists()


def test_plan_import_page_dry_run_says_what_would_change(client, katuma):
    # given
    client.force_login(manager_of(katuma))
    document = example("katuma")
    document["plans"][1]["trial_days"] = 60

    # when
    response = client.post(
        url("plans-import", katuma), {"file": upload(document), "dry_run": "on"}
    )

    # then
    assert "would import 0 new plan versions, 1 replaced, 1 unchanged" in text(response)
    assert version(katuma, "producers").trial_days == 30


def test_plan_import_page_refuses_what_is_not_json(client, katuma):
    # given
    client.force_login(manager_of(katuma))

    # when
    response = client.post(url("plans-import", katuma), {"file": upload(b"\xff{")})

    # then
    assert "the file is not UTF-8 text" in text(response)


# -------------------------------------------------------------------- assignments


@time_machine.travel(NOW, tick=False)
def test_plan_assignments_add_and_end_an_assignment(client, katuma):
    # given
    client.force_login(manager_of(katuma))

    # when
    added = client.post(
        url("plan-assignments", katuma),
        {
            "enterprise_id": "31",
            "plan_code": "producers",
            "starts_on": "2025-06-01",
            "note": "Producer co-operative",
        },
    )
    row = ShopPlanAssignment.objects.get(instance=katuma)
    ended = client.post(
        url("plan-assignment-end", katuma, pk=row.pk), {"ends_on": "2025-12-31"}
    )
    overlap = client.post(
        url("plan-assignments", katuma),
        {
            "enterprise_id": "31",
            "plan_code": "consumer-groups",
            "starts_on": "2025-09-01",
        },
    )

    # then
    assert added.status_code == ended.status_code == 302
    row.refresh_from_db()
    assert (row.plan_code, row.starts_on, row.ends_on, row.note) == (
        "producers",
        dt.date(2025, 6, 1),
        dt.date(2025, 12, 31),
        "Producer co-operative",
    )
    assert overlap.status_code == 200
    assert "overlaps the assignment of shop 31 to producers from 2025-06-01" in text(
        overlap
    )
    assert ShopPlanAssignment.objects.count() == 1
    listing = text(client.get(url("plan-assignments", katuma)))
    assert "31 producers 1 Jun 2025 31 Dec 2025 in force Producer co-operative" in (
        listing
    )


# --------------------------------------------------------------------- permission


def write_requests(instance) -> dict:
    plan = version(instance, "producers")
    assignment = ShopPlanAssignment.objects.create(
        instance=instance,
        enterprise_id=5,
        plan_code="producers",
        starts_on=dt.date(2025, 1, 1),
    )
    return {
        "new-plan": url("plan-new", instance),
        "edit": url("plan-edit", instance, pk=plan.pk),
        "new-version": url("plan-new-version", instance, pk=plan.pk),
        "import": url("plans-import", instance),
        "assign": url("plan-assignments", instance),
        "end-assignment": url("plan-assignment-end", instance, pk=assignment.pk),
    }


@pytest.mark.parametrize(
    "request_name",
    ["new-plan", "edit", "new-version", "import", "assign", "end-assignment"],
)
def test_plan_pages_refuse_an_accountants_post(client, katuma, request_name):
    # given
    client.force_login(accountant_of(katuma))
    target = write_requests(katuma)[request_name]

    # when
    response = client.post(target, {"effective_from": "2026-01-01", "ends_on": ""})

    # then
    assert response.status_code == 403
    assert PricingPlan.objects.filter(instance=katuma).count() == 2
    assert ShopPlanAssignment.objects.get().ends_on is None


def test_plan_pages_answer_404_for_another_instance(client, katuma):
    # given
    other = InstanceFactory(slug="uk")
    client.force_login(manager_of(other))
    plan = version(katuma, "producers")

    # when
    pages = [
        client.get(url("plans", katuma)),
        client.get(url("plans-export", katuma)),
        client.get(url("plan-version", katuma, pk=plan.pk)),
        client.post(url("plan-edit", katuma, pk=plan.pk), {}),
        client.get(url("plan-version", other, pk=plan.pk)),
    ]

    # then
    assert [page.status_code for page in pages] == [404, 404, 404, 404, 404]


# ----------------------------------------------------------------- plans in words


def words_of(**fields) -> list[str]:
    """The sentences of an unsaved GBP version with `fields` (no tiers)."""
    plan = PricingPlan(
        instance=InstanceFactory.build(currency="GBP"),
        code="x",
        name="X",
        effective_from=dt.date(2026, 1, 1),
        currency="GBP",
        **fields,
    )
    return [text for _, text in plan_sentences(plan, tiers=[], one_off_charges=[])]


@pytest.mark.parametrize(
    ("fields", "monthly", "tax"),
    [
        (
            {
                "fixed_fee": Decimal("6.00"),
                "turnover_rate": Decimal("0.02"),
                "monthly_cap": Decimal("60.00"),
                "minimum_billable_turnover": Decimal("100.00"),
                "tax_rate": Decimal("0.2"),
            },
            "6.00 per month plus 2 % of sales once turnover reaches 100.00, capped "
            "at 60.00 per month.",
            "20 % tax added on top.",
        ),
        (
            {
                "turnover_rate": Decimal("0.025"),
                "turnover_basis": "item_total",
                "minimum_charge": Decimal("3.00"),
                "tax_rate": Decimal("0.2"),
                "prices_include_tax": True,
            },
            "2.5 % of product sales, at least 3.00 per month.",
            "Prices include 20 % tax.",
        ),
        (
            {"per_order_floor": Decimal("0.25"), "turnover_basis": "total_ex_tax"},
            "0.25 per order.",
            "No tax.",
        ),
        ({}, "Nothing.", "No tax."),
    ],
    ids=["uk-2025", "products-minimum-inclusive", "flat-per-order", "nothing"],
)
def test_plan_sentences_say_each_component(fields, monthly, tax):
    # when
    sentences = words_of(**fields)

    # then
    assert sentences == [
        "Bills producer shops, producer hubs and hubs by default.",
        monthly,
        tax,
    ]


def test_docs_complete_example_imports():
    # given
    InstanceFactory(slug="uk")
    docs = (settings.BASE_DIR / "docs" / "plans.md").read_text(encoding="utf-8")
    section = docs[docs.index("## A complete example") :]
    start = section.index("```json") + len("```json")
    block = section[start : section.index("```", start)]

    # when
    result = plans_import(document=json.loads(block))

    # then
    assert result.created == [
        "standard from 2025-04-01",
        "busy-hubs from 2025-04-01",
    ]
    assert result.assignments_created == 2


def test_plan_assignments_queries_do_not_grow_with_rows(
    client, katuma, django_assert_max_num_queries
):
    # given
    for shop in range(1, 21):
        ShopPlanAssignment.objects.create(
            instance=katuma,
            enterprise_id=shop,
            plan_code="producers",
            starts_on=dt.date(2025, 1, 1),
        )
    client.force_login(manager_of(katuma))

    # when
    with django_assert_max_num_queries(6):
        response = client.get(url("plan-assignments", katuma))

    # then
    assert response.content.decode().count('data-test="assignment-row"') == 20
