import factory
from django.contrib.auth import get_user_model

from portal.models import Membership, Role
from tests.instances.factories import InstanceFactory

PASSWORD = "correct horse battery staple"  # noqa: S105 (a test user's password)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password(PASSWORD)


class AdminFactory(UserFactory):
    is_staff = True
    is_superuser = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    instance = factory.SubFactory(InstanceFactory)
    role = Role.MANAGER
