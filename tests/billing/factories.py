import datetime as dt

import factory

from billing.models import BillingRun, Invoice, InvoiceLine, PricingPlan
from tests.instances.factories import InstanceFactory


class PricingPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PricingPlan

    instance = factory.SubFactory(InstanceFactory)
    name = "Standard"
    effective_from = dt.date(2026, 1, 1)
    fixed_fee = "10.00"
    turnover_rate = "0.02"
    tax_rate = "0.20"


class BillingRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingRun
        django_get_or_create = ("instance", "month")

    instance = factory.SubFactory(InstanceFactory)
    month = dt.date(2026, 5, 1)
    status = BillingRun.Status.SUCCEEDED
    computed_at = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)
    computations = 1


class InvoiceFactory(factory.django.DjangoModelFactory):
    """A draft of 15.03 net + 20 % tax, matching two InvoiceLineFactory lines (B06)."""

    class Meta:
        model = Invoice

    run = factory.SubFactory(BillingRunFactory)
    instance = factory.SelfAttribute("run.instance")
    month = factory.SelfAttribute("run.month")
    subject_key = factory.Sequence(lambda n: f"owner:{n + 1}")
    subject_name = factory.Sequence(lambda n: f"Subject {n + 1:04d}")
    subject_email = ""
    plan = None
    currency = factory.SelfAttribute("instance.currency")
    tax_rate = "0.20"
    net = "15.03"
    tax = "3.01"
    gross = "18.04"
    content_hash = factory.Sequence(lambda n: f"{n:064x}")


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    position = factory.Sequence(lambda n: n + 1)
    enterprise_id = 101
    enterprise_name = "Green Valley Hub"
    category = "hub"
    component = InvoiceLine.Component.FIXED_FEE
    description = "Fixed fee"
    rule = "Standard (plan of 2026-01-01): 10.01 GBP per month."
    turnover = "251.00"
    order_count = 12
    billable_days = 31
    days_in_month = 31
    amount = "10.01"
