"""Keeps portal tables on `default` and OFN tables on replica aliases.

A router is only advice: `.using(alias)` and queryset writes bypass it, which is why the
OFN models refuse writes themselves (instances.models.ofn) and replica sessions are
read-only on PostgreSQL.
"""

from django.db import DEFAULT_DB_ALIAS

REPLICA_PREFIX = "ofn_"


def is_ofn_model(model) -> bool:
    return model._meta.app_label == "instances" and not model._meta.managed


def is_replica_alias(alias: str) -> bool:
    return alias.startswith(REPLICA_PREFIX)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if is_ofn_model(model):
            # OFN models are read with an explicit .using(instance.replica_alias);
            # there is no default replica to fall back on.
            instance = hints.get("instance")
            return instance._state.db if instance is not None else None
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS if not is_ofn_model(model) else None

    def allow_relation(self, obj1, obj2, **hints):
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return not is_replica_alias(db)
