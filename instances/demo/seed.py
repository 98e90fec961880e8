"""Seeding the demo: build every replica, then register instances, billing and logins.

`demo_seed` builds each replica completely (instances/demo/storage.py) and only then
registers instances, their billing set-up (plans imported from plans/, assignments,
issuer, edited subjects), users and memberships in one transaction, so a failure never
leaves a half-registered instance.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from portal.audit import audit_record
from portal.exceptions import InvalidInput
from portal.models import Membership, Role

from ..models import Instance
from ..models.ofn import SHOP_SELLS
from ..replicas import redact_url, unregister_replica
from ..services import instance_register
from .billing_setup import DemoShops, demo_billing_ensure, demo_shops
from .replica import DemoReplica
from .specs import DEMO_INSTANCES, DemoInstanceSpec
from .storage import postgres_build, postgres_server_check, sqlite_build

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "ofn-demo-2026"  # noqa: S105 - the published demo password (README)
DEFAULT_SEED = 2026


@dataclass(frozen=True)
class DemoInstanceReport:
    slug: str
    name: str
    replica: str  # kind and location, never credentials
    enterprises: int
    shops: int
    orders: int
    # The shops the billing set-up assigns plans to and the shared billing ids.
    picks: DemoShops = field(default=DemoShops((), (), ()), repr=False)


@dataclass(frozen=True)
class DemoReport:
    instances: list[DemoInstanceReport]
    logins: list[tuple[str, str]]  # (username, what it may do)
    password: str = DEMO_PASSWORD


def demo_seed(
    *,
    as_of: dt.datetime,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    slugs: list[str] | None = None,
    replica_dir: Path | None = None,
    postgres_url: str | None = None,
    postgres_prefix: str = "ofn_demo_",
) -> DemoReport:
    """Build every demo replica, then register instances, billing and logins at once.

    `scale` multiplies the number of enterprises (and so of orders); 1 gives a few
    hundred enterprises and tens of thousands of orders per instance.
    """
    specs = _chosen_specs(slugs)
    if postgres_url:
        postgres_server_check(postgres_url)
    built = [
        demo_replica_build(
            spec=spec,
            as_of=as_of,
            seed=seed,
            scale=scale,
            replica_dir=replica_dir,
            postgres_url=postgres_url,
            postgres_prefix=postgres_prefix,
        )
        for spec in specs
    ]
    with transaction.atomic():
        instances = [
            _demo_instance_register(spec=spec, replica_url=url)
            for spec, (url, _) in zip(specs, built, strict=True)
        ]
        managers = demo_users_ensure(instances=instances)
        for spec, instance, (_, report) in zip(specs, instances, built, strict=True):
            demo_billing_ensure(
                spec=spec,
                instance=instance,
                shops=report.picks,
                manager=managers[instance.slug],
                as_of=as_of,
            )
    for instance in instances:
        # A connection this process kept to a replaced replica would read old rows.
        unregister_replica(instance.replica_alias)
    return DemoReport(
        instances=[report for _, report in built], logins=demo_logins(instances)
    )


def demo_replica_build(
    *,
    spec: DemoInstanceSpec,
    as_of: dt.datetime,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    replica_dir: Path | None = None,
    postgres_url: str | None = None,
    postgres_prefix: str = "ofn_demo_",
) -> tuple[str, DemoInstanceReport]:
    """Generate one instance's rows and write its replica; return its URL and counts.

    The replica is complete before it replaces the previous one; nothing is
    registered here.
    """
    if as_of.tzinfo is None:
        raise InvalidInput("as_of must be an aware datetime.")
    if not 0 < scale <= 10:
        raise InvalidInput(f"Scale {scale} is out of range: use a number in (0, 10].")
    rows = DemoReplica(spec, seed=seed, as_of=as_of, scale=scale).generate()
    if postgres_url:
        name = f"{postgres_prefix}{spec.slug}"
        url = postgres_build(server_url=postgres_url, name=name, rows=rows)
        label = f"postgresql {redact_url(url)}"
    else:
        folder = Path(replica_dir or settings.VAR_DIR / "replicas").resolve()
        path = folder / f"{spec.slug}.sqlite3"
        url, label = sqlite_build(path=path, rows=rows), f"sqlite {path}"
    report = _report(spec, label, rows)
    logger.info(
        "Demo replica built",
        extra={"instance": spec.slug, "orders": report.orders, "seed": seed},
    )
    return url, report


def _chosen_specs(slugs: list[str] | None) -> list[DemoInstanceSpec]:
    known = {spec.slug: spec for spec in DEMO_INSTANCES}
    unknown = sorted(set(slugs or []) - set(known))
    if unknown:
        raise InvalidInput(
            f"No demo instance {', '.join(unknown)}; choose among {', '.join(known)}."
        )
    return [spec for spec in DEMO_INSTANCES if not slugs or spec.slug in slugs]


def _report(spec: DemoInstanceSpec, label: str, rows: dict) -> DemoInstanceReport:
    return DemoInstanceReport(
        slug=spec.slug,
        name=spec.name,
        replica=label,
        enterprises=len(rows["enterprises"]),
        shops=sum(row["sells"] in SHOP_SELLS for row in rows["enterprises"]),
        orders=len(rows["spree_orders"]),
        picks=demo_shops(rows),
    )


def _demo_instance_register(*, spec: DemoInstanceSpec, replica_url: str) -> Instance:
    instance, _ = instance_register(
        slug=spec.slug,
        name=spec.name,
        country=spec.country,
        currency=spec.currency,
        time_zone=spec.time_zone,
        language=spec.language,
        invoice_prefix=spec.invoice_prefix,
        replica_url=replica_url,
        replica_url_env="",
    )
    return instance


def demo_users_ensure(*, instances: list[Instance]) -> dict:
    """The demo logins with the demo password (reset on every run) and their roles.

    Returns each instance's manager by instance slug.
    """
    # One hash for every demo login: hashing is slow on purpose, and the password is
    # published anyway.
    password = make_password(DEMO_PASSWORD)
    _demo_user("admin", password=password, superuser=True)
    accountant = _demo_user("accountant", password=password)
    managers = {}
    for instance in instances:
        manager = _demo_user(f"manager-{instance.slug}", password=password)
        managers[instance.slug] = manager
        for user, role in ((manager, Role.MANAGER), (accountant, Role.ACCOUNTANT)):
            membership, created = Membership.objects.get_or_create(
                user=user, instance=instance, role=role
            )
            if created:
                audit_record(
                    action="membership.created",
                    target=membership,
                    instance=instance,
                    details={"user": user.username, "role": role},
                )
    return managers


def _demo_user(username: str, *, password: str, superuser: bool = False):
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.org"}
    )
    user.is_superuser = user.is_staff = superuser
    user.is_active = True
    user.password = password
    user.save(update_fields=["password", "is_superuser", "is_staff", "is_active"])
    audit_record(
        action="user.demo_reset",
        target=user,
        details={"username": username, "created": created},
    )
    return user


def demo_logins(instances: list[Instance]) -> list[tuple[str, str]]:
    names = ", ".join(instance.name for instance in instances)
    return [
        ("admin", "global admin (every instance, Django admin)"),
        *((f"manager-{i.slug}", f"manager of {i.name}") for i in instances),
        ("accountant", f"accountant of {names}"),
    ]
