"""Unmanaged models of the OFN tables the portal reads, with only the columns it reads.

They mirror `instances/sql/replica_schema.sql`. They are read through a replica
alias (`Model.objects.using(instance.replica_alias)`) and refuse every kind of write
before any SQL is sent; on PostgreSQL the replica session is read-only as a second
guard. `instances.replicas.required_columns()` is derived from these classes, so
`check_replica` always checks exactly what the portal reads.
"""

from django.db import models

from portal.exceptions import ReplicaWriteRefused, WrongDatabase

from ..fields import UTCDateTimeField
from ..routers import is_replica_alias

SHOP_SELLS = ("own", "any")
TURNOVER_STATES = ("complete", "resumed")


def _refuse(model, operation: str):
    raise ReplicaWriteRefused(
        f"{operation} on OFN table {model._meta.db_table} refused: OFN replicas are "
        "read-only for the portal."
    )


class ReadOnlyQuerySet(models.QuerySet):
    @property
    def db(self):
        # Without .using(replica_alias) Django would fall back on `default`, where OFN
        # tables do not exist; say what is missing instead of a "no such table".
        alias = super().db
        if not is_replica_alias(alias):
            raise WrongDatabase(
                f"OFN table {self.model._meta.db_table} read on database {alias!r}: "
                "read OFN models with .using(instance.replica_alias)."
            )
        return alias

    def update(self, **kwargs):
        _refuse(self.model, "update()")

    def _update(self, values):
        _refuse(self.model, "update()")

    def delete(self):
        _refuse(self.model, "delete()")

    def _raw_delete(self, using):
        _refuse(self.model, "delete()")

    def create(self, **kwargs):
        _refuse(self.model, "create()")

    def get_or_create(self, defaults=None, **kwargs):
        _refuse(self.model, "get_or_create()")

    def update_or_create(self, defaults=None, create_defaults=None, **kwargs):
        _refuse(self.model, "update_or_create()")

    def bulk_create(self, objs, *args, **kwargs):
        _refuse(self.model, "bulk_create()")

    def bulk_update(self, objs, fields, batch_size=None):
        _refuse(self.model, "bulk_update()")

    def _insert(self, objs, fields, *args, **kwargs):
        _refuse(self.model, "insert")

    async def aupdate(self, **kwargs):
        _refuse(self.model, "update()")

    async def adelete(self):
        _refuse(self.model, "delete()")

    async def acreate(self, **kwargs):
        _refuse(self.model, "create()")

    async def abulk_create(self, objs, *args, **kwargs):
        _refuse(self.model, "bulk_create()")

    async def abulk_update(self, objs, fields, batch_size=None):
        _refuse(self.model, "bulk_update()")

    async def aget_or_create(self, defaults=None, **kwargs):
        _refuse(self.model, "get_or_create()")

    async def aupdate_or_create(self, defaults=None, create_defaults=None, **kwargs):
        _refuse(self.model, "update_or_create()")


class OfnModel(models.Model):
    """Base of every OFN table: unmanaged, read-only, routed to a replica alias."""

    objects = ReadOnlyQuerySet.as_manager()

    class Meta:
        abstract = True
        managed = False
        # Django's internal paths (related lookups, deletion collectors) use the base
        # manager; make it the read-only one too.
        base_manager_name = "objects"

    def save(self, *args, **kwargs):
        _refuse(self, "save()")

    def save_base(self, *args, **kwargs):
        _refuse(self, "save()")

    def delete(self, *args, **kwargs):
        _refuse(self, "delete()")

    async def asave(self, *args, **kwargs):
        _refuse(self, "save()")

    async def adelete(self, *args, **kwargs):
        _refuse(self, "delete()")


class SpreeAddress(OfnModel):
    """An address; read only for the bill address of a billing subject's owner."""

    firstname = models.CharField(max_length=255, null=True)
    lastname = models.CharField(max_length=255, null=True)
    company = models.CharField(max_length=255, null=True)
    address1 = models.CharField(max_length=255)
    address2 = models.CharField(max_length=255, null=True)
    city = models.CharField(max_length=255)
    zipcode = models.CharField(max_length=255, null=True)

    class Meta(OfnModel.Meta):
        db_table = "spree_addresses"


class SpreeUser(OfnModel):
    email = models.CharField(max_length=255, null=True)
    created_at = UTCDateTimeField()
    # No foreign key in OFN's schema either: a dangling id reads as no address.
    bill_address = models.ForeignKey(
        SpreeAddress,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

    class Meta(OfnModel.Meta):
        db_table = "spree_users"


class Enterprise(OfnModel):
    name = models.CharField(max_length=255, null=True)
    permalink = models.CharField(max_length=255)
    owner_id = models.IntegerField()
    sells = models.CharField(max_length=255)
    # Nullable in OFN; OFN tests it with IS TRUE, so NULL means "not a producer".
    is_primary_producer = models.BooleanField(null=True)
    visible = models.CharField(max_length=255)
    external_billing_id = models.CharField(max_length=128, null=True)
    created_at = UTCDateTimeField()

    class Meta(OfnModel.Meta):
        db_table = "enterprises"

    @property
    def category(self) -> str:
        """OFN's category names (data-model.md 7.1), plus "unactivated"."""
        producer = self.is_primary_producer is True
        if self.sells == "unspecified":
            return "unactivated"
        if producer:
            return {"any": "producer_hub", "own": "producer_shop"}.get(
                self.sells, "producer"
            )
        return "hub" if self.sells in SHOP_SELLS else "hub_profile"


class Customer(OfnModel):
    enterprise_id = models.IntegerField()
    created_at = UTCDateTimeField()

    class Meta(OfnModel.Meta):
        db_table = "customers"


class OrderCycle(OfnModel):
    coordinator_id = models.IntegerField()
    orders_open_at = UTCDateTimeField(null=True)
    orders_close_at = UTCDateTimeField(null=True)

    class Meta(OfnModel.Meta):
        db_table = "order_cycles"


class Order(OfnModel):
    number = models.CharField(max_length=15, null=True)
    distributor_id = models.IntegerField(null=True)
    state = models.CharField(max_length=255, null=True)
    completed_at = UTCDateTimeField(null=True)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    item_total = models.DecimalField(max_digits=10, decimal_places=2)
    included_tax_total = models.DecimalField(max_digits=10, decimal_places=2)
    additional_tax_total = models.DecimalField(max_digits=10, decimal_places=2)
    customer_id = models.IntegerField(null=True)

    class Meta(OfnModel.Meta):
        db_table = "spree_orders"


class Version(OfnModel):
    """PaperTrail rows; for enterprises `object` is the YAML of the prior row."""

    item_type = models.CharField(max_length=255)
    item_id = models.IntegerField()
    event = models.CharField(max_length=255)
    object = models.TextField(null=True)
    created_at = UTCDateTimeField(null=True)

    class Meta(OfnModel.Meta):
        db_table = "versions"
