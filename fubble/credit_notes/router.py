"""HTTP routes of the credit notes."""

from __future__ import annotations

from fubble.api.routing import new_router

router = new_router(tag="credit notes")
