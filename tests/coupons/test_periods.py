"""Which billing periods a redemption covers: period keys, applies() for once/repeating/forever, count_periods and
redemptions_for (pure cases, properties, and the database)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from fubble.coupons.periods import billed_after, period_key
from fubble.coupons.repository import Redeemed, redemptions_for
from fubble.coupons.service import applies, count_periods, periods_remaining, status
from fubble.db.models import Coupon, CouponRedemption, Invoice
from fubble.db.session import Database

APPLIED = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)  # the test clock's time


def ends(*months: int) -> list[str]:
    """The keys of periods ending on the 1st of these months of 2024 (13: January 2025)."""
    return [
        period_key(Invoice(period_end=datetime(2024 + (m - 1) // 12, (m - 1) % 12 + 1, 1, tzinfo=UTC))) for m in months
    ]


def redeemed(duration: str, periods: int | None = None, counted: Sequence[str] = ()) -> Redeemed:
    coupon = Coupon(code="C", type="percentage", percent_off=10, duration=duration, duration_in_periods=periods)
    return Redeemed(CouponRedemption(id=1, applied_at=APPLIED), coupon, frozenset(counted))


# --- period keys ------------------------------------------------------------------------------------------------------


def test_period_key_is_the_period_end_in_utc_or_the_issue_day() -> None:
    berlin = datetime(2024, 2, 1, tzinfo=ZoneInfo("Europe/Berlin"))
    assert period_key(Invoice(period_end=berlin, issue_date=APPLIED)) == "2024-01-31T23:00:00+00:00"
    assert period_key(Invoice(period_end=datetime(2024, 2, 1, tzinfo=UTC))) == "2024-02-01T00:00:00+00:00"
    late = datetime(2024, 3, 1, 23, 30, tzinfo=ZoneInfo("America/New_York"))  # 04:30 UTC the next day
    assert period_key(Invoice(period_end=None, issue_date=late)) == "issued:2024-03-02"
    assert len(period_key(Invoice(period_end=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)))) <= 64


def test_billed_after_compares_the_period_end_strictly_and_the_issue_day_inclusively() -> None:
    assert not billed_after("2024-01-15T12:00:00+00:00", APPLIED)  # the period was over when it was applied
    assert billed_after("2024-01-15T12:00:00.000001+00:00", APPLIED)
    assert not billed_after("2024-01-01T00:00:00+00:00", APPLIED)
    assert billed_after("issued:2024-01-15", APPLIED)  # a manual invoice of the same day
    assert billed_after("issued:2024-02-01", APPLIED)
    assert not billed_after("issued:2024-01-14", APPLIED)


# --- applies(): pure -------------------------------------------------------------------------------------------------


def test_once_covers_the_first_period_billed_after_it_was_applied() -> None:
    before, feb, mar = ends(1) + ends(2, 3)
    fresh = redeemed("once")
    assert [applies(fresh, key) for key in (before, feb, mar)] == [False, True, True]
    used = fresh.with_period(feb)
    assert [applies(used, key) for key in (before, feb, mar)] == [False, True, False]  # feb again: its 2nd invoice
    assert (periods_remaining(fresh), status(fresh), periods_remaining(used), status(used)) == (1, "active", 0, "ended")


def test_repeating_covers_its_first_n_periods() -> None:
    keys = ends(2, 3, 4, 5)
    found = redeemed("repeating", 3)
    for key in keys[:3]:
        assert applies(found, key)
        found = found.with_period(key)
    assert not applies(found, keys[3])
    assert all(applies(found, key) for key in keys[:3])
    assert (periods_remaining(found), status(found)) == (0, "ended")
    assert periods_remaining(redeemed("repeating", 3, keys[:1])) == 2


def test_forever_covers_every_period_billed_after_it_was_applied() -> None:
    keys = ends(*range(2, 15))
    found = redeemed("forever", counted=keys[:-1])
    assert applies(found, keys[-1])
    assert not applies(found, ends(1)[0])
    assert (periods_remaining(found), status(found)) == (None, "active")


def test_a_counted_period_applies_even_when_it_ended_before() -> None:
    # A redemption is counted only for periods it covered; the rule holds whatever the keys are.
    found = redeemed("once", counted=ends(1))
    assert applies(found, ends(1)[0])


@given(
    duration=st.sampled_from(["once", "repeating", "forever"]),
    periods=st.integers(min_value=1, max_value=6),
    months=st.lists(st.integers(min_value=1, max_value=13), max_size=20),
)
def test_finalizing_periods_in_any_order_counts_at_most_the_coupon_periods(
    duration: str, periods: int, months: list[int]
) -> None:
    found = redeemed(duration, periods if duration == "repeating" else None)
    covered = {"once": 1, "repeating": periods, "forever": None}[duration]
    discounted: list[str] = []
    for key in ends(*months):
        if applies(found, key):
            discounted.append(key)
            found = found.with_period(key)
    distinct_after = [key for key in dict.fromkeys(ends(*months)) if billed_after(key, APPLIED)]
    expected = distinct_after if covered is None else distinct_after[:covered]
    assert list(dict.fromkeys(discounted)) == expected  # the first periods seen, each again on a later invoice
    assert found.counted == frozenset(expected)


# --- the database ----------------------------------------------------------------------------------------------------


def _setup(client: TestClient, coupons: Sequence[dict[str, Any]], customers: int = 1) -> list[int]:
    for fields in coupons:
        body = {"type": "percentage", "percent_off": 10, **fields}
        assert client.post("/coupons/", json=body).status_code == 201
    ids = []
    for n in range(customers):
        response = client.post("/customers/", json={"name": f"c{n}", "email": f"c{n}@example.com"})
        ids.append(response.json()["id"])
        for fields in coupons:
            assert client.post(f"/customers/{ids[-1]}/coupons", json={"code": fields["code"]}).status_code == 201
    return ids


def _invoice(client: TestClient, customer_id: int) -> int:
    response = client.post("/invoices/", json={"customer_id": customer_id, "items": []})
    assert response.status_code == 201, response.text
    invoice_id: int = response.json()["id"]
    return invoice_id


def _finalize(db: Database, customer_id: int, invoice_id: int, key: str) -> list[str]:
    """What finalizing an invoice of the period ``key`` counts (the codes of the redemptions that apply)."""
    with db.transaction() as session:
        found = redemptions_for(session, [customer_id]).get(customer_id, [])
        using = [r for r in found if applies(r, key)]
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        count_periods(session, invoice, [r.redemption.id for r in using], key)
        return [r.coupon.code for r in using]


def _state(client: TestClient, customer_id: int) -> dict[str, tuple[int, int | None, str]]:
    rows = client.get(f"/customers/{customer_id}/coupons").json()
    return {row["code"]: (row["periods_used"], row["periods_remaining"], row["status"]) for row in rows}


def test_a_three_period_coupon_is_counted_and_ends(client: TestClient, db: Database) -> None:
    coupons: list[dict[str, Any]] = [
        {"code": "ONCE", "duration": "once"},
        {"code": "THREE", "duration": "repeating", "duration_in_periods": 3},
        {"code": "ALWAYS", "duration": "forever"},
    ]
    (cid,) = _setup(client, coupons)
    jan, feb, mar, apr, may = ends(1, 2, 3, 4, 5)
    assert _finalize(db, cid, _invoice(client, cid), jan) == []  # the period ended before they were applied
    assert _finalize(db, cid, _invoice(client, cid), feb) == ["ONCE", "THREE", "ALWAYS"]
    assert _finalize(db, cid, _invoice(client, cid), feb) == ["ONCE", "THREE", "ALWAYS"]  # feb's late usage
    assert _state(client, cid) == {"ONCE": (1, 0, "ended"), "THREE": (1, 2, "active"), "ALWAYS": (1, None, "active")}
    assert _finalize(db, cid, _invoice(client, cid), mar) == ["THREE", "ALWAYS"]
    assert _finalize(db, cid, _invoice(client, cid), apr) == ["THREE", "ALWAYS"]
    assert _finalize(db, cid, _invoice(client, cid), may) == ["ALWAYS"]
    assert _state(client, cid) == {"ONCE": (1, 0, "ended"), "THREE": (3, 0, "ended"), "ALWAYS": (4, None, "active")}


def test_counting_a_period_twice_keeps_its_first_invoice(client: TestClient, db: Database) -> None:
    (cid,) = _setup(client, [{"code": "ONCE", "duration": "once"}])
    first, second = _invoice(client, cid), _invoice(client, cid)
    (feb,) = ends(2)
    with db.transaction() as session:
        (found,) = redemptions_for(session, [cid])[cid]
        for invoice_id in (first, second, first):
            invoice = session.get(Invoice, invoice_id)
            assert invoice is not None
            count_periods(session, invoice, [found.redemption.id, found.redemption.id], feb)
        assert invoice is not None
        count_periods(session, invoice, [], feb)
    with db.transaction() as session:
        (found,) = redemptions_for(session, [cid])[cid]
        assert found.counted == {feb}
    assert _state(client, cid) == {"ONCE": (1, 0, "ended")}


def test_redemptions_for_many_customers_takes_one_query(client: TestClient, db: Database) -> None:
    coupons = [{"code": "A", "duration": "forever"}, {"code": "B", "duration": "once"}]
    customers = _setup(client, coupons, customers=12)
    bare = client.post("/customers/", json={"name": "bare", "email": "bare@example.com"}).json()["id"]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with db.transaction() as session:
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            found = redemptions_for(session, [*customers, bare, 999])
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert sorted(found) == customers  # customers without a redemption are left out
        assert [[(r.coupon.code, r.counted) for r in found[cid]] for cid in customers] == [
            [("A", frozenset()), ("B", frozenset())]
        ] * 12
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_a_manual_invoice_counts_its_issue_day(client: TestClient, db: Database) -> None:
    (cid,) = _setup(client, [{"code": "TWO", "duration": "repeating", "duration_in_periods": 2}])
    invoice_id = _invoice(client, cid)
    with db.transaction() as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        key = period_key(invoice)
    assert key == "issued:2024-01-15"
    assert _finalize(db, cid, invoice_id, key) == ["TWO"]
    assert _finalize(db, cid, invoice_id, "issued:2024-01-14") == []
    assert _state(client, cid) == {"TWO": (1, 1, "active")}


def test_redeemed_with_period_adds_a_key() -> None:
    found = redeemed("once")
    assert found.with_period("k").counted == {"k"}
    assert found.counted == frozenset()
    assert found.with_period("k").with_period("k") == found.with_period("k")
