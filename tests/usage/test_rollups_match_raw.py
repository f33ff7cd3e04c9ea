"""Rollup-based usage equals a brute-force computation over the raw events.

Random metrics (every aggregation, with and without property filters), random events for two customers ingested in
random batches out of time order, with duplicates (the same event_id sent again) and single-event posts; then random
windows not aligned to hours. Also: rebuilding the rollups from scratch gives the same rows as maintaining them
incrementally, and changing a metric's definition then rebuilding gives the usage of the new definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from fubble.clock import FrozenClock
from fubble.db.models import Customer
from fubble.db.models.metric import Metric
from fubble.db.session import Database
from fubble.events import service as events
from fubble.events.batch_store import record_batch
from fubble.events.schemas import EventIn
from fubble.usage import reader, rollup_rebuild
from fubble.usage.definitions import resolve

from .helpers import Spec, brute_usage, calendar_buckets, clear_usage, define, new_customers, snapshot, stored_events

pytestmark = pytest.mark.slow  # scheduled first: see tests/conftest.py

T0 = datetime(2024, 3, 29, 21, tzinfo=UTC)  # the data crosses a month end and several day boundaries
SPAN = 4 * 86400  # seconds of data
AGGREGATIONS = ("sum", "count", "max", "unique_count", "latest", "weighted_sum")
NAMES = tuple(f"m{i}" for i in range(len(AGGREGATIONS)))

aggregations = st.sampled_from(["sum", "count", "max", "unique_count", "latest", "weighted_sum"])
filters = st.one_of(
    st.just(()),
    st.lists(st.sampled_from("abc"), min_size=1, max_size=2, unique=True).map(lambda v: (("m", tuple(v)),)),
)
HOT_HOURS = (0, 2, 3, 26, 27, 51)  # T0 + 3 h is midnight, + 27 h the last day of March, + 51 h April 1st
anywhere = st.builds(
    lambda s, us: T0 + timedelta(seconds=s, microseconds=us),
    st.integers(0, SPAN),
    st.sampled_from([0, 1, 250_000, 999_999]),
)
hot = st.builds(
    lambda h, s: T0 + timedelta(hours=h, seconds=s), st.sampled_from(HOT_HOURS), st.integers(0, 3599)
)  # several events in the same hours, some with the same time
boundary = st.sampled_from(HOT_HOURS).map(lambda h: T0 + timedelta(hours=h))  # exactly on an hour (and day) boundary
instants = st.one_of(anywhere, hot, boundary)
raw_event = st.fixed_dictionaries(
    {
        "customer": st.integers(0, 1),
        "metric": st.integers(0, len(NAMES) - 1),
        "at": instants,
        "quantity": st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2),
        "m": st.sampled_from([None, "a", "b", "c"]),
        "u": st.sampled_from([None, 1, 2, "1", "x", "y"]),
        "keyed": st.booleans(),
    }
)
offsets = st.one_of(
    st.integers(-86400 - 1800, SPAN + 86400).map(lambda s: T0 + timedelta(seconds=s, microseconds=123)),
    hot.map(lambda t: t + timedelta(microseconds=7)),
    boundary,
)


@st.composite
def windows(draw: st.DrawFn) -> tuple[datetime, datetime]:
    a, b = sorted(draw(st.lists(offsets, min_size=2, max_size=2, unique=True)))
    return a, b


@dataclass
class Scenario:
    specs: list[Spec]
    batches: list[list[dict[str, Any]]]
    windows: list[tuple[datetime, datetime]]
    series: tuple[datetime, datetime, str]
    split: tuple[datetime, datetime, datetime, datetime]
    changed: Spec


def _spec(name: str, aggregation: str, filter_: Any) -> Spec:
    return Spec(name, aggregation, "u" if aggregation == "unique_count" else None, filter_)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    # Every aggregation in every example (in a random order of names), each with or without a filter.
    order = draw(st.permutations(AGGREGATIONS))
    specs = [_spec(name, aggregation, draw(filters)) for name, aggregation in zip(NAMES, order, strict=True)]
    raw = draw(st.lists(raw_event, min_size=20, max_size=120))
    bodies = []
    for i, e in enumerate(raw):
        properties = {k: e[k] for k in ("m", "u") if e[k] is not None}
        body: dict[str, Any] = {
            "customer_id": e["customer"],  # an index until the customers exist
            "metric_name": NAMES[e["metric"]],
            "quantity": e["quantity"],
            "event_time": e["at"],
            "properties": properties or None,
        }
        if e["keyed"]:
            body["event_id"] = f"e{i}"
        bodies.append(body)
    bodies = draw(st.permutations(bodies))  # late arrivals: any order
    cuts = sorted(draw(st.lists(st.integers(0, len(bodies)), max_size=4)))
    batches = [bodies[lo:hi] for lo, hi in zip([0, *cuts], [*cuts, len(bodies)], strict=True) if lo < hi]
    keyed = [b for b in bodies if "event_id" in b]
    if keyed and batches:  # retries: keyed events sent again, later, in their own batch or with others
        again = draw(st.lists(st.sampled_from(keyed), min_size=1, max_size=5))
        position = draw(st.integers(0, len(batches)))
        if position == len(batches):
            batches.append(again)
        else:
            batches[position] = batches[position] + again
    series_window = draw(windows())
    granularity = draw(st.sampled_from(["hour", "day", "month"]))
    split = sorted(draw(st.lists(offsets, min_size=4, max_size=4, unique=True)))
    changed = _spec("m0", draw(aggregations), draw(filters))
    return Scenario(
        specs,
        batches,
        draw(st.lists(windows(), min_size=4, max_size=6)),
        (*series_window, granularity),
        (split[0], split[1], split[2], split[3]),
        changed,
    )


def _ingest(db: Database, clock: FrozenClock, customers: list[int], batches: list[list[dict[str, Any]]]) -> None:
    for batch in batches:
        bodies = [{**b, "customer_id": customers[b["customer_id"]]} for b in batch]
        with db.transaction() as session:
            if len(bodies) == 1:
                events.record(session, EventIn.model_validate(bodies[0]), clock=clock)
            else:
                record_batch(session, bodies, clock=clock, max_events=10_000)


def _check_usage(db: Database, customers: list[int], specs: list[Spec], scenario: Scenario) -> None:
    with db.transaction() as session:
        stored = stored_events(session)
        definitions = resolve(session, [s.name for s in specs])
        for spec in specs:
            definition = definitions[spec.name]
            for customer in customers:
                for start, end in scenario.windows:
                    got = reader.usage(session, customer, definition, start, end)
                    assert got == brute_usage(stored, spec, customer, start, end), (spec, start, end)
                a, b, c, d = scenario.split
                period = timedelta(days=30)
                got = reader.usage_in(session, customer, definition, [(c, d), (a, b)], period=period)
                assert got == _brute_two(stored, spec, customer, (a, b), (c, d), period), (spec, scenario.split)
            start, end, granularity = scenario.series
            customer = customers[0]
            points = reader.series(session, customer, definition, start, end, granularity)
            assert [(p[0], p[1]) for p in points] == list(calendar_buckets(start, end, granularity))
            for lo, hi, value in points:
                assert value == brute_usage(stored, spec, customer, lo, hi), (spec, lo, hi, granularity)
            # The usage endpoint's series and total in one read: the same points, the total of the whole window.
            together, total = reader.series_and_total(session, customer, definition, start, end, granularity)
            assert together == points
            assert total.value == brute_usage(stored, spec, customer, start, end), (spec, start, end, granularity)
            assert total.summary.count == reader.measure(session, customer, definition, start, end).summary.count


def _brute_two(stored: Any, spec: Spec, customer: int, first: Any, second: Any, period: timedelta) -> Decimal:
    if spec.aggregation in ("sum", "count", "weighted_sum"):
        return sum((brute_usage(stored, spec, customer, *w, period=period) for w in (first, second)), Decimal(0))
    if spec.aggregation == "max":
        return max(brute_usage(stored, spec, customer, *w) for w in (first, second))
    if spec.aggregation == "latest":
        later = brute_usage(stored, spec, customer, *second)
        count = Spec(spec.name, "count", None, spec.filters)
        return later if brute_usage(stored, count, customer, *second) else brute_usage(stored, spec, customer, *first)
    # unique_count over the union: the events of the gap removed
    gap = [e for e in stored if not first[1] <= e.event_time < second[0]]
    return brute_usage(gap, spec, customer, first[0], second[1])


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios())
def test_rollup_usage_equals_brute_force(db: Database, clock: FrozenClock, scenario: Scenario) -> None:
    clear_usage(db)
    customers = _customers(db, clock)
    with db.transaction() as session:
        for spec in scenario.specs:
            define(session, spec, clock)
    _ingest(db, clock, customers, scenario.batches)
    _check_usage(db, customers, scenario.specs, scenario)

    # Rebuilding from scratch gives exactly the incrementally maintained rows.
    with db.transaction() as session:
        incremental = snapshot(session)
        for spec in scenario.specs:
            rollup_rebuild.rebuild(session, spec.name)
        assert snapshot(session) == incremental

    # A changed definition, rebuilt, reads as the new definition.
    changed = scenario.changed
    with db.transaction() as session:
        session.execute(
            update(Metric)
            .where(Metric.name == changed.name)
            .values(aggregation=changed.aggregation, property=changed.property, filters=changed.stored_filters())
        )
        rollup_rebuild.rebuild(session, changed.name)
    _check_usage(db, customers, [changed, *scenario.specs[1:]], scenario)


def _customers(db: Database, clock: FrozenClock) -> list[int]:
    """Two customers, made once per test (the db fixture empties every table before each test)."""
    with db.transaction() as session:
        existing = sorted(session.scalars(select(Customer.id)))
    return existing if len(existing) >= 2 else new_customers(db, clock, 2)
