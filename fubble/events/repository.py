"""Queries over stored usage events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from fubble.db.functions import exact_sum
from fubble.db.models import Event


def sum_usage(
    session: Session, customer_id: int, metric_names: Sequence[str], start: datetime, end: datetime
) -> dict[str, Decimal]:
    """Total quantity per metric over the half-open window [start, end); metrics without events map to 0."""
    totals = {name: Decimal(0) for name in metric_names}
    if not metric_names or start >= end:
        return totals
    rows = session.execute(
        select(Event.metric_name, exact_sum(Event.quantity))
        .where(
            Event.customer_id == customer_id,
            Event.metric_name.in_(list(metric_names)),
            Event.event_time >= start,
            Event.event_time < end,
        )
        .group_by(Event.metric_name)
    )
    for name, total in rows:
        totals[name] = total if total is not None else Decimal(0)
    return totals
