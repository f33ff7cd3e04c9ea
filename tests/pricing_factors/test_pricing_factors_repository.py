from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fubble.db.session import Database
from fubble.pricing_factors import repository


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=UTC)


def seed(db: Database) -> None:
    with db.transaction() as session:
        for name, value, day in (
            ("market", "0.1", 1),
            ("market", "0.2", 10),
            ("market", "0.3", 20),
            ("fx", "1.10", 10),
            ("fx", "1.20", 25),
            ("other", "9", 12),
        ):
            repository.upsert(session, name, Decimal(value), at(day), now=at(1))


def test_values_between_segments(db: Database) -> None:
    seed(db)
    with db.transaction() as session:
        segments = repository.values_between(session, ["market", "fx"], at(5), at(22))
    assert segments == [
        (at(5), {"market": Decimal("0.1")}),
        (at(10), {"market": Decimal("0.2"), "fx": Decimal("1.10")}),
        (at(20), {"market": Decimal("0.3"), "fx": Decimal("1.10")}),
    ]


def test_values_between_edges(db: Database) -> None:
    seed(db)
    with db.transaction() as session:
        # a change exactly at start is the first segment's value; a change exactly at end is outside the window
        assert repository.values_between(session, ["market"], at(10), at(20)) == [(at(10), {"market": Decimal("0.2")})]
        assert repository.values_between(session, ["nothing"], at(1), at(31)) == [(at(1), {})]
        assert repository.values_between(session, [], at(1), at(31)) == [(at(1), {})]
        assert repository.values_between(session, ["market"], at(12), at(12)) == [(at(12), {"market": Decimal("0.2")})]
        assert repository.values_between(session, ["fx", "fx"], at(1), at(31)) == [
            (at(1), {}),
            (at(10), {"fx": Decimal("1.10")}),
            (at(25), {"fx": Decimal("1.20")}),
        ]


def test_upsert_replaces_the_value_at_the_same_instant(db: Database) -> None:
    seed(db)
    with db.transaction() as session:
        row = repository.upsert(session, "market", Decimal("-0.05"), at(10), now=at(2))
        assert row.value == Decimal("-0.05")
    with db.transaction() as session:
        assert [r.value for r in repository.history(session, "market")] == [
            Decimal("0.1"),
            Decimal("-0.05"),
            Decimal("0.3"),
        ]
