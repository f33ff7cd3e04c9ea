"""Tiers: the bands of usage that ``tiered``, ``volume`` and ``graduated_percentage`` price, and the rule a list of
them follows. Pure.

Rules
-----
* A tier is ``{start, end, price, flat_amount?}`` (:class:`Tier`: ``tiered`` and ``volume``) or ``{start, end, rate,
  flat_amount?}`` (:class:`PercentageTier`: ``graduated_percentage``, ``rate`` a percent): usage from ``start``
  (inclusive) up to ``end`` (exclusive; ``end: null`` or no ``end``: no upper bound), every number ``>= 0``. The
  optional ``flat_amount`` is a fixed charge for reaching the tier (see :mod:`fubble.pricing.rating`). Any other key
  is refused.
* :func:`check_bands`: tiers are listed in order and contiguous from 0: the first starts at 0, each starts where the
  previous one ends (a gap, an overlap or a wrong order is refused), each has ``start < end``; only the LAST tier may
  have no end. Errors are located at ``("pricing_details", "tiers", <index>, "start" | "end")``.
* Stored (:meth:`TierBase.band_json`): ``start`` and ``end`` always (``end`` may be null), then the price or rate,
  then ``flat_amount`` only when set.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from fubble.errors import InvalidInput
from fubble.pricing.numbers import NonNegative, OptionalNonNegative

__all__ = ["PercentageTier", "Tier", "TierBase", "check_bands"]


class _Band(Protocol):
    """A range of usage: from ``start`` (inclusive) up to ``end`` (exclusive; ``None`` = no upper bound)."""

    @property
    def start(self) -> Decimal: ...

    @property
    def end(self) -> Decimal | None: ...


class TierBase(BaseModel):
    """A tier; subclasses declare ``start``, ``end``, their price and ``flat_amount``, in that order (the order of
    the stored keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def band_json(self) -> dict[str, Any]:
        """``start`` and ``end`` (always, ``end`` may be null) then the other keys; ``flat_amount`` only when set."""
        stored = self.model_dump(mode="python")
        if stored.get("flat_amount") is None:
            stored.pop("flat_amount", None)
        return stored


class Tier(TierBase):
    """Usage from ``start`` (inclusive) up to ``end`` (exclusive; ``None`` = no upper bound) costs ``price`` a unit;
    ``flat_amount`` (optional) is charged once for reaching the tier."""

    start: NonNegative
    end: OptionalNonNegative = None
    price: NonNegative
    flat_amount: OptionalNonNegative = None


class PercentageTier(TierBase):
    """Usage from ``start`` (inclusive) up to ``end`` (exclusive; ``None`` = no upper bound) is charged ``rate``
    percent; ``flat_amount`` (optional) is charged once for reaching the tier."""

    start: NonNegative
    end: OptionalNonNegative = None
    rate: NonNegative
    flat_amount: OptionalNonNegative = None


def check_bands(bands: Sequence[_Band]) -> None:
    """Bands are contiguous from 0, each ``start < end``; only the last may be open-ended."""
    previous: _Band | None = None
    for index, tier in enumerate(bands):
        here = ("pricing_details", "tiers", index)
        if previous is None:
            if tier.start != 0:
                raise InvalidInput.at((*here, "start"), f"the first tier must start at 0, not {tier.start}")
        elif previous.end is None:
            raise InvalidInput.at(
                ("pricing_details", "tiers", index - 1, "end"), "only the last tier may have no end (end: null)"
            )
        elif tier.start > previous.end:
            raise InvalidInput.at(
                (*here, "start"), f"gap: tier starts at {tier.start} but the previous tier ends at {previous.end}"
            )
        elif tier.start < previous.end:
            raise InvalidInput.at(
                (*here, "start"),
                f"overlap or wrong order: tier starts at {tier.start} but the previous tier ends at {previous.end}",
            )
        if tier.end is not None and tier.end <= tier.start:
            raise InvalidInput.at((*here, "end"), f"end ({tier.end}) must be greater than start ({tier.start})")
        previous = tier
