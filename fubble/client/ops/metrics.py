"""``/metrics``: billable metrics, by id or name."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from fubble.client._call import Call, page, segment
from fubble.metrics.schemas import MetricOut

ONE = TypeAdapter(MetricOut)
MANY = TypeAdapter(list[MetricOut])


def create(name: str, **fields: Any) -> Call[MetricOut]:
    """Define a metric: ``aggregation`` (``sum``, ``count``, ``max``, ``unique_count``, ``latest``,
    ``weighted_sum``), ``property``, ``filters``, ``display_name``, ``unit``, ``allow_negative``, ``recurring``."""
    return Call("POST", "/metrics/", ONE, body={"name": name, **fields})


def get(metric: int | str) -> Call[MetricOut]:
    """Get a metric by id or name (a name only plans price answers its implicit ``sum``)."""
    return Call("GET", f"/metrics/{segment(metric)}", ONE)


def list_(*, include_implicit: bool = False, limit: int = 100, offset: int = 0) -> Call[list[MetricOut]]:
    """List the defined metrics by id (then, with ``include_implicit``, the names plans price without one)."""
    return Call("GET", "/metrics/", MANY, page(limit, offset, include_implicit=include_implicit))


def update(metric: int | str, **fields: Any) -> Call[MetricOut]:
    """Change the fields given (the name cannot change)."""
    return Call("PUT", f"/metrics/{segment(metric)}", ONE, body=fields)
