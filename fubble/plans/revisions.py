"""Changing a plan's price components without rewriting the prices its subscribers were sold.

A plan's components form versions (a new plan is version 1). A component prices the versions
``[version_from, version_to)``; ``version_to`` NULL means it is in the latest version. One edit request (add, change,
remove one component, or a whole new set) goes through :func:`revise`, which compares the requested set with the
latest one by ``metric_name``:

* When subscriptions are on the latest version, the edit makes the next version (at most one per request): a changed
  component's row ends (``version_to`` = the new version) and a new row starts there; a removed one ends; an added one
  starts there; an unchanged one is untouched (its row spans both versions and keeps its id).
* Otherwise the latest version is edited in place (the version number stays): a row that belongs to the latest
  version only is changed or deleted (it keeps its id); a row shared with earlier versions is ended and, if changed,
  replaced by a new row, so earlier versions keep their prices.

A component is unchanged when its display name, pricing type, canonical pricing details and charge options
(``grouped_by``, ``filters``, ``min_amount``, ``prorated``) are all the same; a new version carries every one of them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fubble.db.models import Plan, PlanVersion, PriceComponent
from fubble.errors import InvalidInput
from fubble.plans import options, repository
from fubble.pricing.models import parse_pricing


def revise(session: Session, plan: Plan, wanted: list[PriceComponent], *, now: datetime) -> dict[str, PriceComponent]:
    """Make ``wanted`` (new, unsaved components with distinct metric names, canonical details) the latest component
    set of ``plan`` (locked by the caller). Returns the latest components by metric name."""
    current = {component.metric_name: component for component in plan.price_components}
    requested = {component.metric_name: component for component in wanted}
    kept = {name: current[name] for name in requested if name in current and same(current[name], requested[name])}
    ended = [component for name, component in current.items() if name not in kept]
    started = [component for name, component in requested.items() if name not in kept]
    if not ended and not started:
        return kept
    version = plan.version
    if repository.has_subscriptions_on(session, plan.id, version):
        version += 1
        plan.version = version
        session.add(PlanVersion(plan_id=plan.id, version=version, created_at=now))
    result = dict(kept)
    for old in ended:
        new = requested.get(old.metric_name)
        if old.version_from == version:  # in the latest version only: edit the row in place
            if new is None:
                session.delete(old)
            else:
                old.display_name = new.display_name
                old.pricing_type = new.pricing_type
                old.pricing_details = new.pricing_details
                options.copy_to(new, old)
                result[old.metric_name] = old
                started.remove(new)
        else:
            old.version_to = version
    for new in started:
        new.plan_id = plan.id
        new.version_from = version
        new.version_to = None
        new.created_at = now
        session.add(new)
        result[new.metric_name] = new
    plan.updated_at = now
    session.flush()
    session.expire(plan, ["price_components"])
    return result


def same(stored: PriceComponent, new: PriceComponent) -> bool:
    """Whether ``new`` (canonical details and options) prices exactly as ``stored`` and shows the same name."""
    if (stored.display_name or stored.metric_name) != new.display_name or stored.pricing_type != new.pricing_type:
        return False
    if not options.same(stored, new):
        return False
    if stored.pricing_details == new.pricing_details:
        return True
    try:
        details = parse_pricing(stored.pricing_type, stored.pricing_details).to_json()
    except InvalidInput:  # stored before a stricter rule: any new details differ
        return False
    return details == new.pricing_details
