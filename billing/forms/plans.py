"""Forms: plan versions (with their tiers and one-off charges), assignments, import.

The plan forms build a plan object of the file format (docs/plans.md) and leave every
rule to billing.services.plans, so the portal and `import_plans` accept and refuse
exactly the same plans. Rates are typed as percentages here ("2" for 2 %) and travel
as fractions ("0.02") in the plan object.
"""

from decimal import Decimal

from django import forms

from ..models import SHOP_CATEGORIES, TierMeasure, TierMode, TurnoverBasis
from ..plan_format import COUNT_MEASURES, Problem, decimal_text

MAX_UPLOAD_BYTES = 1_000_000
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _money(label: str, *, required: bool = True, help_text: str = ""):
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=0,
        max_digits=14,
        decimal_places=4,
        help_text=help_text,
    )


def _percent(label: str, *, places: int = 4, help_text: str = ""):
    # Empty means 0; no initial value, so an untouched extra row stays unchanged.
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0,
        max_value=100,
        max_digits=places + 3,
        decimal_places=places,
        help_text=help_text,
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _fraction(percent: Decimal | None) -> str:
    return decimal_text((percent or Decimal("0")) / 100)


def _as_percent(fraction: Decimal) -> Decimal:
    return Decimal(decimal_text(fraction * 100))


def _shown(value: Decimal | None, places: int) -> Decimal | None:
    """A stored amount as people type it: 5.0000 -> 5.00, 10.0050 -> 10.005."""
    return None if value is None else Decimal(decimal_text(value, places=places))


class PlanVersionForm(forms.Form):
    """The columns of a plan version; `code` only when the plan is new."""

    code = forms.SlugField(
        max_length=60, help_text="Stays the same across versions, e.g. standard."
    )
    name = forms.CharField(max_length=120)
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    effective_from = forms.DateField(
        widget=DATE_INPUT, help_text="First local day this version is in force."
    )
    applies_to = forms.MultipleChoiceField(
        choices=SHOP_CATEGORIES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: only the shops assigned to this plan.",
    )
    turnover_basis = forms.ChoiceField(
        label="Sales counted as", choices=TurnoverBasis.choices
    )
    tax_percent = _percent("Tax rate (%)", places=2)
    prices_include_tax = forms.BooleanField(
        required=False, help_text="Ticked: amounts include tax; else tax is added."
    )
    trial_days = forms.IntegerField(min_value=0, max_value=3660, initial=0)
    fixed_fee = _money("Fixed fee per month")
    turnover_percent = _percent("Share of sales (%)")
    monthly_cap = _money("Monthly cap", required=False, help_text="Empty: no cap.")
    minimum_billable_turnover = _money(
        "Minimum billable turnover",
        help_text="Sales under this are charged nothing at all.",
    )
    minimum_charge = _money("Minimum charge per month", required=False)
    per_order_percent = _percent("Share of each order (%)")
    per_order_floor = _money("Least fee per order", required=False)
    per_order_ceiling = _money("Largest fee per order", required=False)
    tier_measure = forms.ChoiceField(
        label="Tiers measured on", choices=TierMeasure.choices, required=False
    )
    tier_mode = forms.ChoiceField(label="Tier mode", choices=TierMode.choices)

    # File-format path -> field, for the problems the service reports.
    PATHS = {
        "tax_rate": "tax_percent",
        "turnover_rate": "turnover_percent",
        "per_order.rate": "per_order_percent",
        "per_order.floor": "per_order_floor",
        "per_order.ceiling": "per_order_ceiling",
        "tiers.measure": "tier_measure",
        "tiers.mode": "tier_mode",
    }

    def __init__(self, *args, new_plan: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not new_plan:
            self.fields["code"].disabled = True
            self.fields["code"].required = False

    @staticmethod
    def initial_from(version, *, places: int) -> dict:
        return {
            "code": version.code,
            "name": version.name,
            "description": version.description,
            "effective_from": version.effective_from,
            "applies_to": list(version.applies_to),
            "turnover_basis": version.turnover_basis,
            "tax_percent": _as_percent(version.tax_rate),
            "prices_include_tax": version.prices_include_tax,
            "trial_days": version.trial_days,
            "fixed_fee": _shown(version.fixed_fee, places),
            "turnover_percent": _as_percent(version.turnover_rate),
            "monthly_cap": _shown(version.monthly_cap, places),
            "minimum_billable_turnover": _shown(
                version.minimum_billable_turnover, places
            ),
            "minimum_charge": _shown(version.minimum_charge, places),
            "per_order_percent": _as_percent(version.per_order_rate),
            "per_order_floor": _shown(version.per_order_floor, places),
            "per_order_ceiling": _shown(version.per_order_ceiling, places),
            "tier_measure": version.tier_measure,
            "tier_mode": version.tier_mode,
        }

    def plan_object(self, *, code: str, currency: str, bands, charges) -> dict:
        """The plan object of the file format this form (and its formsets) describe."""
        data = self.cleaned_data
        per_order = {
            "rate": _fraction(data["per_order_percent"]),
            "floor": _text(data["per_order_floor"]),
            "ceiling": _text(data["per_order_ceiling"]),
        }
        tiers = None
        if data["tier_measure"] or bands:
            tiers = {
                "measure": data["tier_measure"] or None,
                "mode": data["tier_mode"],
                "bands": bands,
            }
        return {
            "code": code,
            "name": data["name"],
            "description": data["description"],
            "effective_from": data["effective_from"].isoformat(),
            "currency": currency,
            "applies_to": [c for c, _ in SHOP_CATEGORIES if c in data["applies_to"]],
            "turnover_basis": data["turnover_basis"],
            "tax_rate": _fraction(data["tax_percent"]),
            "prices_include_tax": data["prices_include_tax"],
            "trial_days": data["trial_days"],
            "fixed_fee": _text(data["fixed_fee"]),
            "turnover_rate": _fraction(data["turnover_percent"]),
            "monthly_cap": _text(data["monthly_cap"]),
            "minimum_billable_turnover": _text(data["minimum_billable_turnover"]),
            "minimum_charge": _text(data["minimum_charge"]),
            "per_order": per_order,
            "tiers": tiers,
            "one_off_charges": charges,
        }


class TierForm(forms.Form):
    lower_bound = forms.DecimalField(
        label="From", min_value=0, max_digits=14, decimal_places=4
    )
    flat_fee = _money("Flat fee", required=False)
    turnover_percent = _percent("Share of sales (%)")
    unit_price = _money("Price per unit", required=False)

    PATHS = {
        "from": "lower_bound",
        "flat_fee": "flat_fee",
        "turnover_rate": "turnover_percent",
        "unit_price": "unit_price",
    }

    def band(self) -> dict:
        data = self.cleaned_data
        return {
            "from": _text(data["lower_bound"]),
            "flat_fee": _text(data["flat_fee"] or Decimal("0")),
            "turnover_rate": _fraction(data["turnover_percent"]),
            "unit_price": _text(data["unit_price"] or Decimal("0")),
        }

    @staticmethod
    def initial_from(tier, *, places: int) -> dict:
        counted = tier.plan.tier_measure in COUNT_MEASURES
        return {
            "lower_bound": _shown(tier.lower_bound, 0 if counted else places),
            "flat_fee": _shown(tier.flat_fee, places),
            "turnover_percent": _as_percent(tier.turnover_rate),
            "unit_price": _shown(tier.unit_price, places),
        }


class OneOffChargeForm(forms.Form):
    code = forms.SlugField(max_length=60)
    description = forms.CharField(max_length=255)
    amount = _money("Amount")
    # Asked the other way round, so an untouched extra row is unchanged.
    untaxed = forms.BooleanField(label="No tax", required=False)

    PATHS = {
        "code": "code",
        "description": "description",
        "amount": "amount",
        "taxable": "untaxed",
    }

    def charge(self) -> dict:
        data = self.cleaned_data
        return {
            "code": data["code"],
            "description": data["description"],
            "amount": _text(data["amount"]),
            "taxable": not data["untaxed"],
        }

    @staticmethod
    def initial_from(charge, *, places: int) -> dict:
        return {
            "code": charge.code,
            "description": charge.description,
            "amount": _shown(charge.amount, places),
            "untaxed": not charge.taxable,
        }


TierFormSet = forms.formset_factory(TierForm, extra=2, can_delete=True)
OneOffChargeFormSet = forms.formset_factory(OneOffChargeForm, extra=1, can_delete=True)


def filled_forms(formset) -> list:
    """The rows a (valid) formset holds: its initial rows and the extra ones filled
    in, less those marked for deletion."""
    initial = formset.initial_form_count()
    return [
        form
        for n, form in enumerate(formset.forms)
        if (n < initial or form.has_changed()) and not form.cleaned_data.get("DELETE")
    ]


def problems_to_forms(
    problems: list[Problem], *, form, band_forms: list, charge_forms: list
) -> None:
    """Show each problem at its field; what has no field goes above the form."""
    for problem in problems:
        target, field = _problem_field(problem.path, form, band_forms, charge_forms)
        if field is not None and field in target.fields:
            target.add_error(field, problem.message)
        else:
            form.add_error(None, str(problem))


def _problem_field(path: str, form, band_forms, charge_forms):
    for prefix, forms_by_index in (
        ("tiers.bands[", band_forms),
        ("one_off_charges[", charge_forms),
    ):
        if path.startswith(prefix) and "]." in path:
            index, _, key = path[len(prefix) :].partition("].")
            if index.isdigit() and int(index) < len(forms_by_index):
                row = forms_by_index[int(index)]
                return row, row.PATHS.get(key)
    return form, form.PATHS.get(path, path)


class NewVersionForm(forms.Form):
    effective_from = forms.DateField(
        widget=DATE_INPUT, help_text="First local day the new version is in force."
    )
    name = forms.CharField(
        max_length=120, required=False, help_text="Empty: keep the current name."
    )


class AssignmentForm(forms.Form):
    enterprise_id = forms.IntegerField(
        label="Shop (OFN enterprise id)", min_value=1, max_value=2**31 - 1
    )
    plan_code = forms.ChoiceField(label="Plan")
    starts_on = forms.DateField(widget=DATE_INPUT)
    ends_on = forms.DateField(
        widget=DATE_INPUT, required=False, help_text="Inclusive; empty: open-ended."
    )
    note = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, plan_codes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan_code"].choices = [(code, code) for code in plan_codes]

    def assignment_object(self) -> dict:
        data = self.cleaned_data
        return {
            "enterprise_id": data["enterprise_id"],
            "plan_code": data["plan_code"],
            "starts_on": data["starts_on"].isoformat(),
            "ends_on": data["ends_on"].isoformat() if data["ends_on"] else None,
            "note": data["note"],
        }


class AssignmentEndForm(forms.Form):
    ends_on = forms.DateField(widget=DATE_INPUT, label="Last day")


class PlanImportForm(forms.Form):
    file = forms.FileField(
        label="Plan file (JSON)",
        help_text="Format ofn-portal-plans/1; see docs/plans.md.",
    )
    dry_run = forms.BooleanField(
        required=False,
        label="Only check the file",
        help_text="Say what would change without writing anything.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 1 MB.")
        return upload
