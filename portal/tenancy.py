"""Resolving the instance of a page once, with the user's permission checked."""

from django.contrib.auth.mixins import LoginRequiredMixin

from instances.selectors import instance_get_for_user


class InstanceScopedMixin(LoginRequiredMixin):
    """For views under /instances/<slug>/: sets self.instance or answers 404."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.instance = instance_get_for_user(
                user=request.user, slug=kwargs["slug"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(instance=self.instance, **kwargs)
