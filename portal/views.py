from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from instances.selectors import instance_list_for_user


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "portal/home.html"

    def get_context_data(self, **kwargs):
        instances = instance_list_for_user(user=self.request.user)
        return super().get_context_data(instances=instances, **kwargs)
