"""OpsLevel ids and the built-in lifecycles/tiers (shared by the catalog and filters)."""

from __future__ import annotations

import base64
import binascii

# OpsLevel's default lifecycles and tiers: alias -> (name, index).
LIFECYCLES = {
    "pre-alpha": ("Pre-alpha", 1),
    "alpha": ("Alpha", 2),
    "beta": ("Beta", 3),
    "generally_available": ("Generally Available", 4),
    "end-of-life": ("End-of-life", 5),
}
TIERS = {
    "tier_1": ("Mission Critical", 1),
    "tier_2": ("Customer Facing", 2),
    "tier_3": ("Internal", 3),
    "tier_4": ("Experimental", 4),
}


def make_id(kind: str, key: object) -> str:
    """An OpsLevel-style id: unpadded base64url of ``gid://opslevel/<kind>/<key>``."""
    return base64.urlsafe_b64encode(f"gid://opslevel/{kind}/{key}".encode()).decode().rstrip("=")


def is_id(value: object) -> bool:
    """True when ``value`` base64url-decodes to ``gid://…`` (opslevel-go ``IsID``)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).startswith(b"gid://")
    except (binascii.Error, ValueError):
        return False
