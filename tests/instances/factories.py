import factory

from instances.models import Instance


class InstanceFactory(factory.django.DjangoModelFactory):
    """An instance whose replica is never reached: for pages, PDFs and the admin."""

    class Meta:
        model = Instance
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"ofn-{n}")
    name = factory.LazyAttribute(lambda o: f"OFN {o.slug.upper()}")
    country = "GB"
    currency = "GBP"
    time_zone = "Europe/London"
    language = "en"
    invoice_prefix = factory.LazyAttribute(
        lambda o: o.slug.upper().replace("-", "")[:12]
    )
    replica_url = "sqlite:////nonexistent/replica.sqlite3"
