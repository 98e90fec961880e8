"""The plan file format `ofn-portal-plans/1`: reading it strictly, writing it exactly.

Pure functions, no database: `document_read` turns a parsed JSON document into row
values and lists every problem with its JSON path; `plan_as_dict` and
`assignment_as_dict` write rows back. docs/plans.md documents the format; the checks
that need the database (currency of the instance, versions already billed, plan codes
and assignments already there) live in billing/services/plans.py.

Money and rates travel as strings ("5.00", "0.02") because JSON numbers are binary
floats in most readers; a number where a string is expected is refused, not guessed.
"""

import datetime as dt
import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from portal.exceptions import InvalidInput

from .models import ALL_SHOP_CATEGORIES, TierMeasure, TierMode, TurnoverBasis

FORMAT = "ofn-portal-plans/1"

# What the database keeps (billing/models/plans.py): money numeric(14, 4), rates
# numeric(9, 6), tax rates numeric(6, 4).
MONEY_PLACES = 4
MONEY_INTEGER_DIGITS = 10
RATE_PLACES = 6
TAX_RATE_PLACES = 4
MAX_TRIAL_DAYS = 3660
MAX_ENTERPRISE_ID = 2**31 - 1
# Measures counted in whole units; their tier bounds are whole numbers.
COUNT_MEASURES = {TierMeasure.COMPLETED_ORDERS, TierMeasure.REGISTERED_CUSTOMERS}

_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_MISSING = object()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, at a JSON path such as `plans[1].tiers`."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class PlanFileInvalid(InvalidInput):
    """A plan document (file or form) with problems; nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{count} {noun}, nothing imported: "
            + "; ".join(str(problem) for problem in self.problems)
        )


@dataclass
class PlanData:
    """One plan version read from a document, as row values of the plan models."""

    path: str
    fields: dict[str, Any]  # PricingPlan columns except instance
    tiers: list[dict[str, Any]] = field(default_factory=list)  # PlanTier columns
    one_off_charges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.fields["code"]

    @property
    def effective_from(self) -> dt.date:
        return self.fields["effective_from"]

    @property
    def key(self) -> tuple[str, dt.date]:
        return self.code, self.effective_from


@dataclass
class AssignmentData:
    path: str
    fields: dict[str, Any]  # ShopPlanAssignment columns except instance

    @property
    def key(self) -> tuple[int, str, dt.date]:
        # The natural key an import matches existing rows on.
        return (
            self.fields["enterprise_id"],
            self.fields["plan_code"],
            self.fields["starts_on"],
        )


@dataclass
class PlanDocument:
    instance_slug: str
    plans: list[PlanData]
    assignments: list[AssignmentData]


# ------------------------------------------------------------------ value readers
#
# A reader takes the raw JSON value and returns the row value, or raises ValueError
# with the message to show after the path.


def _text(*, max_length: int, required: bool = True) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        value = value.strip()
        if required and not value:
            raise ValueError("must not be empty")
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value

    return read


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise ValueError("must be a code of letters, digits, '-' and '_'")
    if len(value) > 60:
        raise ValueError("must be at most 60 characters")
    return value


def _date(value: Any) -> dt.date:
    try:
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD") from None


def _optional_date(value: Any) -> dt.date | None:
    return None if value is None else _date(value)


def _decimal(value: Any, *, example: str, places: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f'write it as a string such as "{example}" (JSON numbers are not exact)'
        )
    if not _DECIMAL.match(value.strip()):
        raise ValueError(f"{value!r} is not a number: write it like {example!r}")
    try:
        number = Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the pattern already refused it
        raise ValueError(f"{value!r} is not a number") from None
    if number < 0:
        raise ValueError("must not be negative")
    if number.as_tuple().exponent < -places:
        raise ValueError(f"has more than {places} decimal places")
    return number


def _money(value: Any) -> Decimal:
    number = _decimal(value, example="5.00", places=MONEY_PLACES)
    if number >= Decimal(10) ** MONEY_INTEGER_DIGITS:
        raise ValueError("is too large")
    return number


def _optional_money(value: Any) -> Decimal | None:
    return None if value is None else _money(value)


def _rate_reader(places: int) -> Callable[[Any], Decimal]:
    def read(value: Any) -> Decimal:
        number = _decimal(value, example="0.02", places=places)
        if number > 1:
            raise ValueError(
                f"{value} is more than 100 %: a rate is a fraction, 0.02 is 2 %"
            )
        return number

    return read


_rate = _rate_reader(RATE_PLACES)
_tax_rate = _rate_reader(TAX_RATE_PLACES)


def _bound(value: Any) -> Decimal:
    number = _decimal(value, example="500.00", places=MONEY_PLACES)
    if number >= Decimal(10) ** MONEY_INTEGER_DIGITS:
        raise ValueError("is too large")
    return number


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _whole(*, low: int, high: int) -> Callable[[Any], int]:
    def read(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if not low <= value <= high:
            raise ValueError(f"must be from {low} to {high}")
        return value

    return read


def _choice(choices: type) -> Callable[[Any], str]:
    values = [str(value) for value in choices.values]

    def read(value: Any) -> str:
        if value not in values:
            shown = ", ".join(repr(v) for v in values if v)
            raise ValueError(f"{value!r} is not one of {shown}")
        return value

    return read


def _measure(value: Any) -> str:
    if value is None:
        return TierMeasure.NONE
    return _choice(TierMeasure)(value)


def _categories(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("must be a list of shop categories")
    unknown = [item for item in value if item not in ALL_SHOP_CATEGORIES]
    if unknown:
        raise ValueError(
            f"unknown category {unknown[0]!r}: choose among "
            + ", ".join(ALL_SHOP_CATEGORIES)
        )
    if len(set(value)) < len(value):
        raise ValueError("names a category twice")
    return list(value)


# ---------------------------------------------------------------- object schemas
#
# JSON name -> (row column, reader, default). A default of _MISSING makes the key
# required; other defaults are the model's.

_PLAN_FIELDS = {
    "code": ("code", _slug, _MISSING),
    "name": ("name", _text(max_length=120), _MISSING),
    "description": ("description", _text(max_length=10_000, required=False), ""),
    "effective_from": ("effective_from", _date, _MISSING),
    "currency": ("currency", _text(max_length=3), _MISSING),
    "applies_to": ("applies_to", _categories, list(ALL_SHOP_CATEGORIES)),
    "turnover_basis": ("turnover_basis", _choice(TurnoverBasis), "total"),
    "tax_rate": ("tax_rate", _tax_rate, Decimal("0")),
    "prices_include_tax": ("prices_include_tax", _bool, False),
    "trial_days": ("trial_days", _whole(low=0, high=MAX_TRIAL_DAYS), 0),
    "fixed_fee": ("fixed_fee", _money, Decimal("0")),
    "turnover_rate": ("turnover_rate", _rate, Decimal("0")),
    "monthly_cap": ("monthly_cap", _optional_money, None),
    "minimum_billable_turnover": ("minimum_billable_turnover", _money, Decimal("0")),
    "minimum_charge": ("minimum_charge", _optional_money, None),
}
_PLAN_OBJECTS = ("per_order", "tiers", "one_off_charges")
_PER_ORDER_FIELDS = {
    "rate": ("per_order_rate", _rate, Decimal("0")),
    "floor": ("per_order_floor", _optional_money, None),
    "ceiling": ("per_order_ceiling", _optional_money, None),
}
_TIERS_FIELDS = {
    "measure": ("tier_measure", _measure, _MISSING),
    "mode": ("tier_mode", _choice(TierMode), TierMode.VOLUME),
}
_BAND_FIELDS = {
    "from": ("lower_bound", _bound, _MISSING),
    "flat_fee": ("flat_fee", _money, Decimal("0")),
    "turnover_rate": ("turnover_rate", _rate, Decimal("0")),
    "unit_price": ("unit_price", _money, Decimal("0")),
}
_ONE_OFF_FIELDS = {
    "code": ("code", _slug, _MISSING),
    "description": ("description", _text(max_length=255), _MISSING),
    "amount": ("amount", _money, _MISSING),
    "taxable": ("taxable", _bool, True),
}
_ASSIGNMENT_FIELDS = {
    "enterprise_id": (
        "enterprise_id",
        _whole(low=1, high=MAX_ENTERPRISE_ID),
        _MISSING,
    ),
    "plan_code": ("plan_code", _slug, _MISSING),
    "starts_on": ("starts_on", _date, _MISSING),
    "ends_on": ("ends_on", _optional_date, None),
    "note": ("note", _text(max_length=255, required=False), ""),
}
_DOCUMENT_KEYS = ("format", "instance", "plans", "assignments")


def join_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Reader:
    """Collects every problem of a document instead of stopping at the first."""

    def __init__(self):
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def object(self, value: Any, path: str, known) -> dict | None:
        if not isinstance(value, dict):
            self.problem(path, "must be an object")
            return None
        for key in value:
            if key not in known:
                close = difflib.get_close_matches(str(key), list(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.problem(join_path(path, str(key)), f"unknown field{hint}")
        return value

    def fields(self, value: dict, path: str, schema: dict) -> dict[str, Any]:
        row = {}
        for key, (column, read, default) in schema.items():
            if key not in value:
                if default is _MISSING:
                    self.problem(join_path(path, key), "is required")
                else:
                    row[column] = (
                        list(default) if isinstance(default, list) else default
                    )
                continue
            try:
                row[column] = read(value[key])
            except ValueError as error:
                self.problem(join_path(path, key), str(error))
        return row

    def list(self, value: Any, path: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, "must be a list")
            return []
        return value


# ------------------------------------------------------------------------ reading


def document_read(document: Any) -> tuple[PlanDocument | None, list[Problem]]:
    """Every plan and assignment of `document`, and every problem found in it.

    The plans and assignments come back even when some have problems (their fields
    may then be incomplete), so later checks can still look at the sound ones; only a
    document that is not an object at all gives None.
    """
    reader = _Reader()
    if reader.object(document, "", _DOCUMENT_KEYS) is None:
        return None, reader.problems
    if document.get("format") != FORMAT:
        reader.problem("format", f"must be {FORMAT!r} (got {document.get('format')!r})")
    slug = document.get("instance")
    if not isinstance(slug, str) or not _SLUG.match(slug):
        reader.problem("instance", "must be the slug of an instance, e.g. 'uk'")
    if "plans" not in document:
        reader.problem("plans", "is required (it may be an empty list)")
    plans = [
        plan_read(item, path=f"plans[{n}]", reader=reader)
        for n, item in enumerate(reader.list(document.get("plans"), "plans"))
    ]
    assignments = [
        _assignment_read(item, path=f"assignments[{n}]", reader=reader)
        for n, item in enumerate(
            reader.list(document.get("assignments"), "assignments")
        )
    ]
    _repeated_versions(plans, reader)
    return PlanDocument(slug, plans, assignments), reader.problems


def problems_touch(problems: list[Problem], path: str) -> bool:
    """Whether any problem is at `path` or inside it."""
    return any(
        problem.path == path or problem.path.startswith((f"{path}.", f"{path}["))
        for problem in problems
    )


def in_document_order(problems: list[Problem]) -> list[Problem]:
    """Problems grouped by the plan or assignment they concern, in file order."""

    def key(problem: Problem) -> tuple[int, int]:
        for rank, section in enumerate(("plans[", "assignments["), start=1):
            if problem.path.startswith(section):
                index = problem.path[len(section) :].partition("]")[0]
                return rank, int(index) if index.isdigit() else 0
        return 0, 0

    return sorted(problems, key=key)


def plan_read(value: Any, *, path: str, reader: _Reader | None = None) -> PlanData:
    """One plan object (of a file, or built from the portal's form)."""
    reader = reader if reader is not None else _Reader()
    plan = PlanData(path, {})
    if reader.object(value, path, (*_PLAN_FIELDS, *_PLAN_OBJECTS)) is None:
        return plan
    plan.fields = reader.fields(value, path, _PLAN_FIELDS)
    plan.fields.update(_per_order_read(value.get("per_order"), path, reader))
    tier_fields, plan.tiers = _tiers_read(value.get("tiers"), path, reader)
    plan.fields.update(tier_fields)
    plan.one_off_charges = _one_offs_read(value.get("one_off_charges"), path, reader)
    _plan_consistency(plan, reader)
    return plan


def plan_problems(value: Any, *, path: str = "") -> tuple[PlanData, list[Problem]]:
    """A single plan object read on its own, for the portal's forms."""
    reader = _Reader()
    plan = plan_read(value, path=path, reader=reader)
    return plan, reader.problems


def assignment_problems(
    value: Any, *, path: str = ""
) -> tuple[AssignmentData, list[Problem]]:
    reader = _Reader()
    assignment = _assignment_read(value, path=path, reader=reader)
    return assignment, reader.problems


def _per_order_read(value: Any, path: str, reader: _Reader) -> dict[str, Any]:
    path = join_path(path, "per_order")
    if value is None:
        return {column: default for column, _, default in _PER_ORDER_FIELDS.values()}
    if reader.object(value, path, _PER_ORDER_FIELDS) is None:
        return {}
    row = reader.fields(value, path, _PER_ORDER_FIELDS)
    floor, ceiling = row.get("per_order_floor"), row.get("per_order_ceiling")
    if floor is not None and ceiling is not None and ceiling < floor:
        reader.problem(
            join_path(path, "ceiling"), f"must be at least the floor {floor:f}"
        )
    return row


def _tiers_read(value: Any, path: str, reader: _Reader) -> tuple[dict, list[dict]]:
    path = join_path(path, "tiers")
    if value is None:
        return {"tier_measure": TierMeasure.NONE, "tier_mode": TierMode.VOLUME}, []
    if reader.object(value, path, (*_TIERS_FIELDS, "bands")) is None:
        return {}, []
    row = reader.fields(value, path, _TIERS_FIELDS)
    bands_path = join_path(path, "bands")
    bands = []
    for n, item in enumerate(reader.list(value.get("bands"), bands_path)):
        band_path = f"{bands_path}[{n}]"
        if reader.object(item, band_path, _BAND_FIELDS) is not None:
            bands.append((band_path, reader.fields(item, band_path, _BAND_FIELDS)))
    measure = row.get("tier_measure")
    if measure == TierMeasure.NONE and bands:
        reader.problem(join_path(path, "measure"), "is required when there are bands")
    elif measure and not bands and "bands" in value:
        reader.problem(bands_path, "must list at least one band")
    elif measure and "bands" not in value:
        reader.problem(bands_path, "is required")
    _band_bounds(bands, measure, reader)
    return row, [band for _, band in bands]


def _band_bounds(bands: list[tuple[str, dict]], measure, reader: _Reader) -> None:
    """Bands start at 0 and rise strictly; counted measures have whole bounds."""
    previous = None
    for n, (path, band) in enumerate(bands):
        bound = band.get("lower_bound")
        if bound is None:
            previous = None
            continue
        where = join_path(path, "from")
        if n == 0 and bound != 0:
            reader.problem(where, "the first band must start at 0")
        elif previous is not None and bound <= previous:
            reader.problem(where, f"must be greater than {_plain(previous)}")
        if measure in COUNT_MEASURES and bound != bound.to_integral_value():
            reader.problem(where, f"must be a whole number of {_unit(measure)}")
        previous = bound


def _one_offs_read(value: Any, path: str, reader: _Reader) -> list[dict]:
    path = join_path(path, "one_off_charges")
    charges, seen = [], {}
    for n, item in enumerate(reader.list(value, path)):
        item_path = f"{path}[{n}]"
        if reader.object(item, item_path, _ONE_OFF_FIELDS) is None:
            continue
        row = reader.fields(item, item_path, _ONE_OFF_FIELDS)
        code = row.get("code")
        if code in seen:
            reader.problem(
                join_path(item_path, "code"),
                f"repeats {code!r} of {path}[{seen[code]}]",
            )
        seen.setdefault(code, n)
        charges.append(row)
    return charges


def _plan_consistency(plan: PlanData, reader: _Reader) -> None:
    minimum, cap = plan.fields.get("minimum_charge"), plan.fields.get("monthly_cap")
    if minimum is not None and cap is not None and minimum > cap:
        reader.problem(
            join_path(plan.path, "minimum_charge"),
            f"must not exceed the monthly cap {cap:f}",
        )


def _assignment_read(value: Any, *, path: str, reader: _Reader) -> AssignmentData:
    assignment = AssignmentData(path, {})
    if reader.object(value, path, _ASSIGNMENT_FIELDS) is None:
        return assignment
    assignment.fields = reader.fields(value, path, _ASSIGNMENT_FIELDS)
    starts, ends = assignment.fields.get("starts_on"), assignment.fields.get("ends_on")
    if starts and ends and ends < starts:
        reader.problem(
            join_path(path, "ends_on"), f"must not be before starts_on {starts}"
        )
    return assignment


def _repeated_versions(plans: list[PlanData], reader: _Reader) -> None:
    seen = {}
    for plan in plans:
        if "code" not in plan.fields or "effective_from" not in plan.fields:
            continue
        if plan.key in seen:
            reader.problem(
                plan.path,
                f"repeats the version {plan.code} from {plan.effective_from} "
                f"of {seen[plan.key]}",
            )
        seen.setdefault(plan.key, plan.path)


def _unit(measure: str) -> str:
    return {
        TierMeasure.COMPLETED_ORDERS: "orders",
        TierMeasure.REGISTERED_CUSTOMERS: "customers",
    }.get(measure, "units")


# ------------------------------------------------------------------------ writing


def decimal_text(value: Decimal, *, places: int = 0) -> str:
    """`value` without trailing zeros, but with at least `places` decimals.

    Exact: the text reads back as the same Decimal value ("0.020000" -> "0.02",
    "5.0000" -> "5.00" with two places, "100.0000" -> "100").
    """
    value = Decimal(value).normalize()
    if value.as_tuple().exponent > -places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return f"{value:f}"


def _plain(value: Decimal) -> str:
    return decimal_text(value)


def plan_as_dict(plan, *, tiers, one_off_charges, currency: str, places: int) -> dict:
    """A PricingPlan row (with its tiers and one-off charges) as a file's plan object.

    `currency` is the instance's, written for versions stored without one; `places` is
    its minor unit, the least number of decimals money is written with.
    """

    def money(value: Decimal | None) -> str | None:
        return None if value is None else decimal_text(value, places=places)

    def bound(value: Decimal) -> str:
        counted = plan.tier_measure in COUNT_MEASURES
        return decimal_text(value) if counted else money(value)

    per_order = None
    if (
        plan.per_order_rate
        or plan.per_order_floor is not None
        or plan.per_order_ceiling is not None
    ):
        per_order = {
            "rate": decimal_text(plan.per_order_rate),
            "floor": money(plan.per_order_floor),
            "ceiling": money(plan.per_order_ceiling),
        }
    tier_object = None
    if plan.tier_measure or plan.tier_mode != TierMode.VOLUME or tiers:
        tier_object = {
            "measure": plan.tier_measure or None,
            "mode": plan.tier_mode,
            "bands": [
                {
                    "from": bound(tier.lower_bound),
                    "flat_fee": money(tier.flat_fee),
                    "turnover_rate": decimal_text(tier.turnover_rate),
                    "unit_price": money(tier.unit_price),
                }
                for tier in tiers
            ],
        }
    return {
        "code": plan.code,
        "name": plan.name,
        "description": plan.description,
        "effective_from": plan.effective_from.isoformat(),
        "currency": plan.currency or currency,
        "applies_to": list(plan.applies_to),
        "turnover_basis": plan.turnover_basis,
        "tax_rate": decimal_text(plan.tax_rate),
        "prices_include_tax": plan.prices_include_tax,
        "trial_days": plan.trial_days,
        "fixed_fee": money(plan.fixed_fee),
        "turnover_rate": decimal_text(plan.turnover_rate),
        "monthly_cap": money(plan.monthly_cap),
        "minimum_billable_turnover": money(plan.minimum_billable_turnover),
        "minimum_charge": money(plan.minimum_charge),
        "per_order": per_order,
        "tiers": tier_object,
        "one_off_charges": [
            {
                "code": charge.code,
                "description": charge.description,
                "amount": money(charge.amount),
                "taxable": charge.taxable,
            }
            for charge in one_off_charges
        ],
    }


def assignment_as_dict(assignment) -> dict:
    return {
        "enterprise_id": assignment.enterprise_id,
        "plan_code": assignment.plan_code,
        "starts_on": assignment.starts_on.isoformat(),
        "ends_on": assignment.ends_on.isoformat() if assignment.ends_on else None,
        "note": assignment.note,
    }


def document_text(document: dict) -> str:
    """How plan files are written: two-space JSON, UTF-8 as is, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def document_parse(data: bytes | str) -> Any:
    """The JSON value of a plan file's bytes, or a PlanFileInvalid saying why not."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise PlanFileInvalid([Problem("", "the file is not UTF-8 text")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanFileInvalid(
            [
                Problem(
                    "",
                    f"the file is not JSON: {error.msg} at line {error.lineno} "
                    f"column {error.colno}",
                )
            ]
        ) from None
