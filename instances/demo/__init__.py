"""The demo: three realistic OFN replicas, their billing set-up and the demo logins.

specs: the three instances (where, how they trade, how they bill). replica, enterprises,
trading: the rows of a replica from a seeded Random. storage: writing a replica and
swapping it in. billing_setup: plans imported from plans/, assignments, issuer,
subjects. seed: all of it at once (`manage.py seed_demo`).
"""

from .seed import (
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DemoInstanceReport,
    DemoReport,
    demo_logins,
    demo_replica_build,
    demo_seed,
    demo_users_ensure,
)
from .specs import DEMO_INSTANCES, DemoInstanceSpec

__all__ = [
    "DEFAULT_SEED",
    "DEMO_INSTANCES",
    "DEMO_PASSWORD",
    "DemoInstanceReport",
    "DemoInstanceSpec",
    "DemoReport",
    "demo_logins",
    "demo_replica_build",
    "demo_seed",
    "demo_users_ensure",
]
