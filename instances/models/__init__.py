from .instance import Instance
from .ofn import (
    Customer,
    Enterprise,
    Order,
    OrderCycle,
    SpreeUser,
    Version,
)

__all__ = [
    "Customer",
    "Enterprise",
    "Instance",
    "Order",
    "OrderCycle",
    "SpreeUser",
    "Version",
]
