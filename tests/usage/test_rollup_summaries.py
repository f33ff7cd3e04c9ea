"""The one-pass summary of events in index order gives exactly the rows of the general summary (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from fubble.events.repository import NewEvent
from fubble.usage import rollup_in_order, rollups
from fubble.usage.definitions import MetricDefinition

_START = datetime(2024, 3, 30, 20, tzinfo=UTC)  # near midnight, so runs cross hours and days
_RECEIVED = datetime(2024, 4, 2, tzinfo=UTC)

_events = st.lists(
    st.tuples(
        st.integers(1, 3),  # customer
        st.sampled_from(["api_calls", "gb", "seats"]),  # metric
        st.integers(0, 3 * 24 * 60).map(lambda minutes: _START + timedelta(minutes=minutes)),
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**6), places=3),
    ),
    min_size=1,
    max_size=60,
)
_DIALECTS = [sqlite.dialect(), postgresql.dialect()]


def _rows(events: list[tuple[int, str, datetime, Decimal]]) -> list[NewEvent]:
    rows = [NewEvent(None, c, m, q, t, None, "f", _RECEIVED) for c, m, t, q in events]
    return sorted(rows, key=lambda row: (row.customer_id, row.metric_name, row.event_time))  # stable, as prepared


@pytest.mark.parametrize("dialect", _DIALECTS, ids=["sqlite", "postgresql"])
@settings(max_examples=150, deadline=None)
@given(events=_events)
def test_summary_in_order_equals_the_general_summary(
    dialect: Dialect, events: list[tuple[int, str, datetime, Decimal]]
) -> None:
    rows = _rows(events)
    general = rollups.summarize(
        dialect,
        {name: MetricDefinition(name) for name in {row.metric_name for row in rows}},
        [rollups.EventRow(n, r.customer_id, r.metric_name, r.quantity, r.event_time, None) for n, r in enumerate(rows)],
    )
    in_order = rollup_in_order.summarize_in_order(dialect, rows)
    assert in_order.rollups.prepared == general.rollups.prepared
    assert [tuple(row) for row in in_order.rollups.values] == [tuple(row) for row in general.rollups.values]
    assert in_order.order_at == general.order_at
    assert not in_order.distinct.values and not in_order.weighted


def test_same_instant_events_keep_the_last_one_given_as_last() -> None:
    """Ties in time are ordered by position (the ids follow it): the later one is the bucket's last value."""
    at = datetime(2024, 1, 1, 10, 30, tzinfo=UTC)
    rows = _rows([(1, "gb", at, Decimal(5)), (1, "gb", at, Decimal(2))])
    summary = rollup_in_order.summarize_in_order(postgresql.dialect(), rows)
    by_width = {row[2]: row for row in summary.rollups.values}
    names = summary.rollups.prepared.names
    hour = dict(zip(names, by_width["hour"], strict=True))
    assert (hour["first_value"], hour["last_value"], hour["last_event_id"]) == (Decimal(5), Decimal(2), 1)
    assert (hour["event_count"], hour["total"], hour["maximum"]) == (2, Decimal(7), Decimal(5))
