"""Pricing plan pages: versions by code, a version in words, edits, assignments, files.

Every member of the instance may read them and download the plan file; only its
managers and global admins may change plans (anyone else gets 403). A version that a
finalised invoice used is shown but never offered for editing: a change becomes a new
version. Every rule lives in billing.services.plans, shared with `import_plans`.
"""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from portal.money import minor_unit_digits
from portal.periods import Month, local_date
from portal.tenancy import InstanceScopedMixin

from ..forms.plans import (
    AssignmentEndForm,
    AssignmentForm,
    NewVersionForm,
    OneOffChargeForm,
    OneOffChargeFormSet,
    PlanImportForm,
    PlanVersionForm,
    TierForm,
    TierFormSet,
    filled_forms,
    problems_to_forms,
)
from ..models import ShopPlanAssignment
from ..page_selectors import user_manages_instance
from ..plan_format import (
    PlanFileInvalid,
    document_parse,
    document_text,
    plan_as_dict,
)
from ..plan_selectors import (
    finalised_invoice_numbers,
    plan_assignment_list,
    plan_codes,
    plan_group_list,
    plan_version_get,
)
from ..plan_words import plan_sentences
from ..services.plans import (
    plan_assignment_add,
    plan_assignment_end,
    plan_version_copy,
    plan_version_save,
    plans_export,
    plans_import,
)


class PlanPageMixin(InstanceScopedMixin):
    """Reading for every member of the instance, writing for its managers."""

    @property
    def can_edit(self) -> bool:
        return user_manages_instance(instance=self.instance, user=self.request.user)

    def check_can_edit(self) -> None:
        if not self.can_edit:
            raise PermissionDenied("Only the instance's managers may change plans.")

    @property
    def today(self) -> dt.date:
        return local_date(timezone.now(), self.instance.time_zone)

    def version_or_404(self, pk: int):
        version = plan_version_get(instance=self.instance, pk=pk)
        if version is None:
            raise Http404("No such plan version")
        return version

    def get_context_data(self, **kwargs):
        return super().get_context_data(can_edit=self.can_edit, **kwargs)


class PlanListView(PlanPageMixin, TemplateView):
    template_name = "billing/plan_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            groups=plan_group_list(instance=self.instance, today=self.today),
            today=self.today,
            assignment_count=plan_assignment_list(instance=self.instance).count(),
            **kwargs,
        )


class PlanVersionView(PlanPageMixin, TemplateView):
    template_name = "billing/plan_version.html"

    def get_context_data(self, **kwargs):
        version = self.version_or_404(self.kwargs["pk"])
        tiers, charges = version.tiers.all(), version.one_off_charges.all()
        group = next(
            group
            for group in plan_group_list(instance=self.instance, today=self.today)
            if group.code == version.code
        )
        return super().get_context_data(
            version=version,
            row=next(r for r in group.versions if r.version.pk == version.pk),
            group=group,
            sentences=plan_sentences(version, tiers=tiers, one_off_charges=charges),
            figures=plan_as_dict(
                version,
                tiers=tiers,
                one_off_charges=charges,
                currency=self.instance.currency,
                places=minor_unit_digits(self.instance.currency),
            ),
            billed_numbers=finalised_invoice_numbers(version),
            **kwargs,
        )


class PlanFormView(PlanPageMixin, TemplateView):
    """A version's form with its tiers and one-off charges (new plan, or an edit)."""

    template_name = "billing/plan_form.html"

    def forms(self, version=None, data=None):
        new_plan = version is None
        initial = {"fixed_fee": 0, "minimum_billable_turnover": 0, "trial_days": 0}
        tiers, charges = [], []
        if version is not None:
            places = minor_unit_digits(self.instance.currency)
            initial = PlanVersionForm.initial_from(version, places=places)
            tiers = [
                TierForm.initial_from(tier, places=places)
                for tier in version.tiers.all()
            ]
            charges = [
                OneOffChargeForm.initial_from(charge, places=places)
                for charge in version.one_off_charges.all()
            ]
        return (
            PlanVersionForm(data, initial=initial, new_plan=new_plan),
            TierFormSet(data, initial=tiers, prefix="tiers"),
            OneOffChargeFormSet(data, initial=charges, prefix="charges"),
        )

    def render_forms(self, forms, *, version=None, status=200, **context):
        form, tier_formset, charge_formset = forms
        context = self.get_context_data(
            version=version,
            form=form,
            tier_formset=tier_formset,
            charge_formset=charge_formset,
            **context,
        )
        return self.render_to_response(context, status=status)

    def save(self, forms, *, version=None):
        """Save through the service, or render the forms with its problems."""
        form, tier_formset, charge_formset = forms
        valid = [f.is_valid() for f in forms]
        if not all(valid):
            return self.render_forms(forms, version=version)
        band_forms = sorted(
            filled_forms(tier_formset), key=lambda f: f.cleaned_data["lower_bound"]
        )
        charge_forms = filled_forms(charge_formset)
        code = version.code if version is not None else form.cleaned_data["code"]
        data = form.plan_object(
            code=code,
            currency=self.instance.currency,
            bands=[f.band() for f in band_forms],
            charges=[f.charge() for f in charge_forms],
        )
        try:
            saved = plan_version_save(
                instance=self.instance,
                data=data,
                version=version,
                actor=self.request.user,
            )
        except PlanFileInvalid as error:
            problems_to_forms(
                error.problems,
                form=form,
                band_forms=band_forms,
                charge_forms=charge_forms,
            )
            return self.render_forms(forms, version=version)
        messages.success(
            self.request,
            f"Saved plan {saved.code}, version from {saved.effective_from:%Y-%m-%d}.",
        )
        return redirect(_version_url(self.instance, saved))


class PlanCreateView(PlanFormView):
    def get(self, request, *args, **kwargs):
        self.check_can_edit()
        return self.render_forms(self.forms())

    def post(self, request, *args, **kwargs):
        self.check_can_edit()
        return self.save(self.forms(data=request.POST))


class PlanVersionEditView(PlanFormView):
    def get(self, request, *args, pk, **kwargs):
        self.check_can_edit()
        version = self.version_or_404(pk)
        numbers = finalised_invoice_numbers(version)
        if numbers:
            return self.render_frozen(version, numbers)
        return self.render_forms(self.forms(version), version=version)

    def post(self, request, *args, pk, **kwargs):
        self.check_can_edit()
        version = self.version_or_404(pk)
        numbers = finalised_invoice_numbers(version)
        if numbers:
            return self.render_frozen(version, numbers, status=409)
        return self.save(self.forms(version, data=request.POST), version=version)

    def render_frozen(self, version, numbers, *, status=200):
        context = self.get_context_data(
            version=version, frozen_numbers=numbers, form=None
        )
        return self.render_to_response(context, status=status)


class PlanNewVersionView(PlanPageMixin, TemplateView):
    """A copy of a version from a new date; the copy is then edited as needed."""

    template_name = "billing/plan_new_version.html"

    def get(self, request, *args, pk, **kwargs):
        self.check_can_edit()
        version = self.version_or_404(pk)
        start = Month.from_date(self.today).next().first_day
        form = NewVersionForm(initial={"effective_from": start})
        return self.render_to_response(
            self.get_context_data(version=version, form=form)
        )

    def post(self, request, *args, pk, **kwargs):
        self.check_can_edit()
        version = self.version_or_404(pk)
        form = NewVersionForm(request.POST)
        if form.is_valid():
            try:
                copy = plan_version_copy(
                    version=version,
                    effective_from=form.cleaned_data["effective_from"],
                    name=form.cleaned_data["name"],
                    actor=request.user,
                )
            except PlanFileInvalid as error:
                for problem in error.problems:
                    field = problem.path if problem.path in form.fields else None
                    form.add_error(field, problem.message)
            else:
                messages.success(
                    request,
                    f"New version of {copy.code} from {copy.effective_from:%Y-%m-%d}, "
                    "a copy of the previous one: change what differs and save.",
                )
                return redirect(
                    "billing:plan-edit", slug=self.instance.slug, pk=copy.pk
                )
        return self.render_to_response(
            self.get_context_data(version=version, form=form)
        )


class PlanAssignmentListView(PlanPageMixin, TemplateView):
    template_name = "billing/plan_assignments.html"

    def get(self, request, *args, **kwargs):
        return self.render_page(self.add_form())

    def post(self, request, *args, **kwargs):
        self.check_can_edit()
        form = self.add_form(request.POST)
        if form.is_valid():
            try:
                row = plan_assignment_add(
                    instance=self.instance,
                    data=form.assignment_object(),
                    actor=request.user,
                )
            except PlanFileInvalid as error:
                for problem in error.problems:
                    field = problem.path if problem.path in form.fields else None
                    form.add_error(field, problem.message)
            else:
                messages.success(
                    request,
                    f"Shop {row.enterprise_id} is billed with plan {row.plan_code} "
                    f"from {row.starts_on:%Y-%m-%d}.",
                )
                return redirect("billing:plan-assignments", slug=self.instance.slug)
        return self.render_page(form)

    def add_form(self, data=None) -> AssignmentForm:
        return AssignmentForm(
            data,
            plan_codes=plan_codes(instance=self.instance),
            initial={"starts_on": self.today},
        )

    def render_page(self, form):
        rows = []
        for assignment in plan_assignment_list(instance=self.instance):
            if assignment.starts_on > self.today:
                state = "scheduled"
            elif assignment.ends_on is not None and assignment.ends_on < self.today:
                state = "past"
            else:
                state = "in-force"
            rows.append((assignment, state))
        context = self.get_context_data(
            rows=rows, form=form, end_form=AssignmentEndForm(), today=self.today
        )
        return self.render_to_response(context)


class PlanAssignmentEndView(PlanPageMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, pk, **kwargs):
        self.check_can_edit()
        assignment = ShopPlanAssignment.objects.filter(
            instance=self.instance, pk=pk
        ).first()
        if assignment is None:
            raise Http404("No such assignment")
        form = AssignmentEndForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the last day as a date.")
        else:
            try:
                plan_assignment_end(
                    assignment=assignment,
                    ends_on=form.cleaned_data["ends_on"],
                    actor=request.user,
                )
            except PlanFileInvalid as error:
                messages.error(request, str(error.problems[0].message).capitalize())
            else:
                messages.success(
                    request,
                    f"Shop {assignment.enterprise_id} leaves plan "
                    f"{assignment.plan_code} after "
                    f"{form.cleaned_data['ends_on']:%Y-%m-%d}.",
                )
        return redirect("billing:plan-assignments", slug=self.instance.slug)


class PlanExportView(PlanPageMixin, View):
    """The instance's plan file, as `export_plans` writes it."""

    def get(self, request, *args, **kwargs):
        text = document_text(plans_export(instance=self.instance))
        response = HttpResponse(text, content_type="application/json; charset=utf-8")
        name = f"plans-{self.instance.slug}-{self.today:%Y-%m-%d}.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class PlanImportView(PlanPageMixin, TemplateView):
    template_name = "billing/plan_import.html"

    def get(self, request, *args, **kwargs):
        self.check_can_edit()
        return self.render_to_response(self.get_context_data(form=PlanImportForm()))

    def post(self, request, *args, **kwargs):
        self.check_can_edit()
        form = PlanImportForm(request.POST, request.FILES)
        context = {"form": form}
        if form.is_valid():
            try:
                result = plans_import(
                    instance=self.instance,
                    document=document_parse(form.cleaned_data["file"].read()),
                    actor=request.user,
                    dry_run=form.cleaned_data["dry_run"],
                )
            except PlanFileInvalid as error:
                context["problems"] = error.problems
            else:
                if not result.dry_run:
                    messages.success(request, result.summary())
                    return redirect("billing:plans", slug=self.instance.slug)
                context["result"] = result
        return self.render_to_response(self.get_context_data(**context))


def _version_url(instance, version) -> str:
    return reverse(
        "billing:plan-version", kwargs={"slug": instance.slug, "pk": version.pk}
    )


urlpatterns = [
    path("plans/", PlanListView.as_view(), name="plans"),
    path("plans/new/", PlanCreateView.as_view(), name="plan-new"),
    path("plans/export/", PlanExportView.as_view(), name="plans-export"),
    path("plans/import/", PlanImportView.as_view(), name="plans-import"),
    path(
        "plans/assignments/",
        PlanAssignmentListView.as_view(),
        name="plan-assignments",
    ),
    path(
        "plans/assignments/<int:pk>/end/",
        PlanAssignmentEndView.as_view(),
        name="plan-assignment-end",
    ),
    path("plans/<int:pk>/", PlanVersionView.as_view(), name="plan-version"),
    path(
        "plans/<int:pk>/new-version/",
        PlanNewVersionView.as_view(),
        name="plan-new-version",
    ),
    path("plans/<int:pk>/edit/", PlanVersionEditView.as_view(), name="plan-edit"),
]
