from django.db.models import QuerySet
from django.http import Http404

from .models import Instance


def instance_list_for_user(*, user) -> QuerySet[Instance]:
    """Instances `user` may see: all for global admins, else those with a membership."""
    if not user.is_authenticated:
        return Instance.objects.none()
    if user.is_superuser:
        return Instance.objects.all()
    return Instance.objects.filter(memberships__user=user).distinct()


def instance_get_for_user(*, user, slug: str) -> Instance:
    """The instance `slug` if `user` may see it; else 404, so existence never leaks."""
    instance = instance_list_for_user(user=user).filter(slug=slug).first()
    if instance is None:
        raise Http404("No such instance")
    return instance
