from django.views.generic import TemplateView

from billing.page_selectors import billing_run_summary_list
from portal.tenancy import InstanceScopedMixin


class InstanceDetailView(InstanceScopedMixin, TemplateView):
    template_name = "instances/detail.html"

    def get_context_data(self, **kwargs):
        runs = billing_run_summary_list(instance=self.instance)
        return super().get_context_data(runs=runs, **kwargs)
