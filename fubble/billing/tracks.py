"""What a billing pass bills, per subscription: its tracks and their components, and the policy that picks the time.

A subscription is billed on up to three tracks, each with its own coverage kind: ``arrears`` (usage, and the fixed
fees of ordinary plans, after the time), ``advance`` (the fixed fees of a plan with ``fees_in_advance``, when a period
starts) and ``credit`` (the unused part of an advance fee's time). A :class:`Policy` says which time of each track a
pass considers and how lines are grouped into invoices (:class:`WindowPolicy` for windows chosen by hand;
:class:`fubble.billing_runs.policy.DuePolicy` for billing runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from fubble.billing.schedule import Schedule
from fubble.db.models import PriceComponent, Subscription
from fubble.pricing.fees import fee_part, is_fee_only, usage_part
from fubble.pricing.models import FlatPricing, PricingModel, parse_pricing
from fubble.pricing.periods import Slice

Span = tuple[datetime, datetime]
ARREARS, ADVANCE, CREDIT = "arrears", "advance", "credit"
TRACKS = (ARREARS, ADVANCE, CREDIT)
LINE_KIND = {ARREARS: "usage", ADVANCE: "fee", CREDIT: "credit"}
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)  # before any subscription (the API refuses earlier dates)


@dataclass(frozen=True)
class Planned:
    """One slice of one subscription to price on one track."""

    subscription: Subscription
    track: str
    slice: Slice


class Policy(Protocol):
    """What time a billing pass considers, and how it groups the lines into invoices."""

    # May a subscription far behind be billed in part (its earliest periods), the rest later? A run may; a window
    # chosen by hand is billed whole or refused (422: bill a shorter window).
    partial: bool

    def window(self, schedule: Schedule, track: str) -> Span:
        """The part of the subscription's time this pass bills on ``track`` (its uncovered time inside it)."""
        ...

    def key(self, planned: Planned) -> datetime | None:
        """Lines with the same key (per customer) share an invoice; ``None``: one invoice per customer."""
        ...


@dataclass(frozen=True)
class WindowPolicy:
    """``POST /invoices/generate``: everything inside ``[start, end)``, on one invoice per customer."""

    start: datetime
    end: datetime
    partial = False

    def window(self, schedule: Schedule, track: str) -> Span:
        return (self.start, self.end)

    def key(self, planned: Planned) -> datetime | None:
        return None


@dataclass
class PricedPlan:
    """A subscription's price components (its plan version, with its overrides) per track, in component id order."""

    tracks: dict[str, list[tuple[PriceComponent, PricingModel]]]

    def usage_metrics(self) -> set[str]:
        return {c.metric_name for c, model in self.tracks[ARREARS] if not is_fee_only(model)}

    def flat_metrics(self) -> set[str]:
        return {c.metric_name for track in self.tracks.values() for c, m in track if isinstance(m, FlatPricing)}


def priced_plan(
    components: list[PriceComponent], overrides: list[dict[str, object]] | None, advance: bool
) -> PricedPlan:
    """The tracks of a plan version: with fees in advance, fixed fees move to the advance and credit tracks."""
    override = {str(o["metric_name"]): o for o in overrides or []}
    arrears: list[tuple[PriceComponent, PricingModel]] = []
    ahead: list[tuple[PriceComponent, PricingModel]] = []
    for component in components:
        found = override.get(component.metric_name)
        pricing_type = str(found.get("pricing_type") or component.pricing_type) if found else component.pricing_type
        model = parse_pricing(pricing_type, found["pricing_details"] if found else component.pricing_details)
        if not advance:
            arrears.append((component, model))
            continue
        usage, fee = usage_part(model), fee_part(model)
        if usage is not None:
            arrears.append((component, usage))
        if fee is not None:
            ahead.append((component, fee))
    return PricedPlan({ARREARS: arrears, ADVANCE: ahead, CREDIT: ahead})
