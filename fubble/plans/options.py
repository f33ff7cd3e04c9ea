"""A price component's charge options and a plan's amounts, as the plans service checks and stores them.

* The options (``grouped_by``, ``filters``, ``min_amount``, ``prorated``) are checked by
  :func:`fubble.pricing.charges.parse_options` and stored canonically in their columns (NULL / false when not set).
* ``prorated: true`` needs the component's metric to be defined with ``recurring: true``.
* With a plan currency, ``min_amount`` and the plan's ``minimum_commitment`` have at most its decimal places.
* Two components price alike when their options are the same (compared as parsed, like their details).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from fubble.db.models import PriceComponent
from fubble.errors import InvalidInput, entry
from fubble.invoices.money import in_minor_units
from fubble.plans import repository
from fubble.pricing.charges import ComponentOptions, parse_options

Loc = tuple[str | int, ...]
KEYS = ("grouped_by", "filters", "min_amount", "prorated")


def raw_of(component: PriceComponent) -> dict[str, Any]:
    """A stored component's options as :func:`parse_options` reads them."""
    return {key: getattr(component, key) for key in KEYS}


def store(component: PriceComponent, options: ComponentOptions) -> None:
    """Set the option columns from valid options (NULL / false for what is not set)."""
    stored = options.to_json()
    component.grouped_by = stored.get("grouped_by")
    component.filters = stored.get("filters")
    component.min_amount = stored.get("min_amount")
    component.prorated = options.prorated


def copy_to(source: PriceComponent, target: PriceComponent) -> None:
    for key in KEYS:
        setattr(target, key, getattr(source, key))


def same(stored: PriceComponent, new: PriceComponent) -> bool:
    """Whether ``new`` (canonical options) has the options of ``stored``."""
    if all(getattr(stored, key) == getattr(new, key) for key in KEYS):
        return True
    try:
        return (
            parse_options(stored.pricing_type, raw_of(stored)).to_json()
            == parse_options(new.pricing_type, raw_of(new)).to_json()
        )
    except InvalidInput:  # stored before a stricter rule: any new options differ
        return False


def places_problem(amount: Decimal | None, currency: str | None) -> str | None:
    """Why ``amount`` cannot be an amount of ``currency`` (more decimal places than it has), or ``None``."""
    if amount is None or currency is None:
        return None
    try:
        in_minor_units(amount, currency, ())
    except InvalidInput as exc:
        return str(exc.detail[0]["msg"])
    return None


def prorated_problems(session: Session, components: Sequence[tuple[Loc, PriceComponent]]) -> list[dict[str, Any]]:
    """The error entries of the prorated components (``(location, component)``) whose metric is not defined with
    ``recurring: true``, located at their ``prorated``."""
    wanted = {component.metric_name for _, component in components if component.prorated}
    if not wanted:
        return []
    recurring = repository.recurring_metric_names(session, wanted)
    return [
        entry(
            (*here, "prorated"),
            f"only the units of a recurring metric are prorated: metric {component.metric_name!r} is not defined "
            "with recurring: true (POST /metrics/)",
        )
        for here, component in components
        if component.prorated and component.metric_name not in recurring
    ]


def requested(item: object) -> dict[str, Any]:
    """The options of a request's component (a ``PriceComponentIn``), as :func:`parse_options` reads them."""
    return {key: getattr(item, key, None) for key in KEYS}
