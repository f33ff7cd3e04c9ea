"""HTTP routes of the coupons."""

from __future__ import annotations

from fubble.api.routing import new_router

router = new_router(tag="coupons")
