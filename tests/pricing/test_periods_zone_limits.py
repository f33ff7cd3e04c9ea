"""Period arithmetic in a time zone at the edges of the datetime range: a clear error naming what fell outside."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fubble.errors import InvalidInput
from fubble.pricing.periods import local_date_label, period_containing, period_start, zone

LAST_HOUR = datetime(9999, 12, 31, 23, tzinfo=UTC)


def _message(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    detail = exc.value.detail
    assert isinstance(detail, list)
    return str(detail[0]["msg"])


def test_an_instant_that_leaves_the_range_in_the_zone_is_named() -> None:
    with pytest.raises(InvalidInput) as exc:
        local_date_label(LAST_HOUR, "Asia/Tokyo")  # 9999-12-31 23:00 UTC is year 10000 in Tokyo
    assert _message(exc) == "t 9999-12-31T23:00:00+00:00 is outside years 1..9999 in that time zone"
    with pytest.raises(InvalidInput) as exc:
        period_start(LAST_HOUR, "monthly", 0, tz="Asia/Tokyo")
    assert _message(exc) == "anchor 9999-12-31T23:00:00+00:00 is outside years 1..9999 in that time zone"
    with pytest.raises(InvalidInput) as exc:
        period_containing(datetime(2000, 1, 1, tzinfo=UTC), "monthly", LAST_HOUR, tz="Asia/Tokyo")
    assert _message(exc) == "t 9999-12-31T23:00:00+00:00 is outside years 1..9999 in that time zone"


def test_a_period_whose_local_start_leaves_the_range_in_utc_is_named() -> None:
    # Oct 31, 20:00 in New York (EDT): two months later, Dec 31, 20:00 EST, is 01:00 on Jan 1 of year 10000 in UTC
    anchor = datetime(9999, 11, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput) as exc:
        period_start(anchor, "monthly", 2, tz="America/New_York")
    message = "billing period 2 of 9999-11-01T00:00:00+00:00 is outside years 1..9999 in that time zone"
    assert _message(exc) == message


def test_a_long_zone_name_is_shown_cut_short() -> None:
    with pytest.raises(InvalidInput) as exc:
        zone("A" * 65)
    assert _message(exc) == f"unknown time zone {'A' * 64 + '...'!r}; use an IANA name such as Europe/Berlin"
    with pytest.raises(InvalidInput) as exc:
        zone("B" * 64)
    assert _message(exc) == f"unknown time zone {'B' * 64!r}; use an IANA name such as Europe/Berlin"


def test_a_name_that_is_no_string_is_refused_alike() -> None:
    for name in (None, 3, ["Europe/Berlin"]):
        with pytest.raises(InvalidInput) as exc:
            zone(name)  # type: ignore[arg-type]
        assert _message(exc) == f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin"
