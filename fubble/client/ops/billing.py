"""``/billing/runs``: bill every period due by an instant."""

from __future__ import annotations

from datetime import datetime

from pydantic import TypeAdapter

from fubble.billing_runs.schemas import RunOut
from fubble.client._call import Call, given, page, segment

ONE = TypeAdapter(RunOut)
MANY = TypeAdapter(list[RunOut])


def run(as_of: datetime | None = None) -> Call[RunOut]:
    """Bill every billing period that has ended by ``as_of`` (default now) and is not invoiced yet; safe to
    repeat (a period is invoiced at most once)."""
    return Call("POST", "/billing/runs", ONE, body=given(as_of=as_of))


def get_run(run_id: int) -> Call[RunOut]:
    """Get a billing run."""
    return Call("GET", f"/billing/runs/{segment(run_id)}", ONE)


def list_runs(*, limit: int = 100, offset: int = 0) -> Call[list[RunOut]]:
    """Billing runs, newest first."""
    return Call("GET", "/billing/runs", MANY, page(limit, offset))
