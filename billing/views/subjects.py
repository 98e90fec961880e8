"""Invoice details: the issuer profile and the billing subjects of an instance.

Everyone with access to the instance may read them; only its managers and global
admins may change them (anyone else's POST is refused with 403). Accountants see
subjects' emails masked (rule 11): they need names and tax ids, not addresses to
write to.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.generic import TemplateView
from django_tables2 import RequestConfig

from portal.masking import mask_email
from portal.tenancy import InstanceScopedMixin

from ..forms.parties import BillingSubjectForm, IssuerProfileForm, SubjectSearchForm
from ..models import IssuerProfile
from ..page_selectors import user_manages_instance
from ..party_selectors import billing_subject_list, issuer_profile_get
from ..services.parties import billing_subject_update, issuer_profile_save
from ..tables import BillingSubjectTable

SUBJECTS_PER_PAGE = 25


class PartyPageMixin(InstanceScopedMixin):
    """Reading for every member of the instance, writing for its managers."""

    @property
    def can_edit(self) -> bool:
        if not hasattr(self, "_can_edit"):
            self._can_edit = user_manages_instance(
                instance=self.instance, user=self.request.user
            )
        return self._can_edit

    def check_can_edit(self) -> None:
        if not self.can_edit:
            raise PermissionDenied("Only the instance's managers may change this.")

    def get_context_data(self, **kwargs):
        return super().get_context_data(can_edit=self.can_edit, **kwargs)


class IssuerProfileView(PartyPageMixin, TemplateView):
    template_name = "billing/issuer_form.html"

    def get(self, request, *args, **kwargs):
        issuer = issuer_profile_get(instance=self.instance)
        form = IssuerProfileForm(instance=issuer or self._blank())
        return self.render_to_response(self.get_context_data(form=form, issuer=issuer))

    def post(self, request, *args, **kwargs):
        self.check_can_edit()
        issuer = issuer_profile_get(instance=self.instance)
        form = IssuerProfileForm(request.POST, instance=issuer or self._blank())
        if not form.is_valid():
            return self.render_to_response(
                self.get_context_data(form=form, issuer=issuer), status=400
            )
        issuer_profile_save(
            instance=self.instance, actor=request.user, values=form.changes()
        )
        messages.success(request, "Issuer details saved; drafts will show them.")
        return redirect(reverse("billing:issuer", kwargs={"slug": self.instance.slug}))

    def _blank(self) -> IssuerProfile:
        return IssuerProfile(instance=self.instance, legal_name=self.instance.name)


class BillingSubjectListView(PartyPageMixin, TemplateView):
    template_name = "billing/subject_list.html"

    def get_context_data(self, **kwargs):
        search = SubjectSearchForm(self.request.GET or None)
        query = search.cleaned_data["q"] if search.is_valid() else ""
        table = BillingSubjectTable(
            billing_subject_list(
                instance=self.instance, search=query, search_email=self.can_edit
            ),
            instance_slug=self.instance.slug,
            reveal_personal=self.can_edit,
        )
        RequestConfig(self.request, paginate={"per_page": SUBJECTS_PER_PAGE}).configure(
            table
        )
        return super().get_context_data(
            table=table, search=search, query=query, **kwargs
        )


class BillingSubjectEditView(PartyPageMixin, TemplateView):
    template_name = "billing/subject_form.html"

    def get_subject(self):
        return get_object_or_404(
            billing_subject_list(instance=self.instance), pk=self.kwargs["pk"]
        )

    def get(self, request, *args, **kwargs):
        subject = self.get_subject()
        return self.render_to_response(
            self.get_context_data(
                subject=subject,
                form=BillingSubjectForm(instance=subject) if self.can_edit else None,
                email=subject.email if self.can_edit else mask_email(subject.email),
            )
        )

    def post(self, request, *args, **kwargs):
        subject = self.get_subject()
        self.check_can_edit()
        form = BillingSubjectForm(request.POST, instance=subject)
        if not form.is_valid():
            return self.render_to_response(
                self.get_context_data(subject=subject, form=form), status=400
            )
        billing_subject_update(
            subject=subject, actor=request.user, values=form.changes()
        )
        messages.success(
            request,
            "Invoice details saved. Drafts show them now; prefilling from OFN will "
            "not overwrite them.",
        )
        return redirect(
            reverse("billing:subjects", kwargs={"slug": self.instance.slug})
        )


urlpatterns = [
    path("issuer/", IssuerProfileView.as_view(), name="issuer"),
    path("subjects/", BillingSubjectListView.as_view(), name="subjects"),
    path("subjects/<int:pk>/", BillingSubjectEditView.as_view(), name="subject-edit"),
]
