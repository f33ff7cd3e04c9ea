"""A CSV row of ``fubble events import`` as the JSON object of an event: which columns a header may name, and how a
row's cells become the event's fields (decoded afterwards by :mod:`fubble.events.decoder`, as any event is)."""

from __future__ import annotations

import json
import re
from typing import Any

from fubble.api.json import loads

COLUMNS = {"event_id", "customer_id", "external_customer_id", "metric_name", "quantity", "event_time", "properties"}
PROPERTY_PREFIX = "properties."
_WHOLE_NUMBER = re.compile(r"[0-9]+")


def header_problem(columns: list[str]) -> str | None:
    """Why a CSV header cannot be imported (an unknown or repeated column, a required one missing), or None."""
    for column in columns:
        if column not in COLUMNS and not (column.startswith(PROPERTY_PREFIX) and len(column) > len(PROPERTY_PREFIX)):
            return f"unknown column {column!r}: use {', '.join(sorted(COLUMNS))} or properties.<name>"
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        return f"repeated column(s): {', '.join(repeated)}"
    missing = [c for c in ("metric_name", "quantity") if c not in columns]
    if "customer_id" not in columns and "external_customer_id" not in columns:
        missing.append("customer_id or external_customer_id")
    return f"missing column(s): {', '.join(missing)}" if missing else None


def csv_event(header: list[str], cells: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object of a row's cells: ``customer_id`` an integer if it is one, the other columns strings
    (``quantity`` a numeric string, which events may send), ``properties`` the JSON object of its cell and/or the
    ``properties.NAME`` cells."""
    if len(cells) != len(header):
        return None, f"has {len(cells)} cells, the header has {len(header)}"
    event: dict[str, Any] = {}
    named: dict[str, str] = {}
    for column, cell in zip(header, cells, strict=True):
        if cell == "":
            continue
        if column.startswith(PROPERTY_PREFIX):
            named[column[len(PROPERTY_PREFIX) :]] = cell
        elif column == "properties":
            try:
                value = loads(cell)
            except (json.JSONDecodeError, ValueError) as exc:
                return None, f"properties: invalid JSON: {exc}"
            if not isinstance(value, dict):
                return None, "properties: must be a JSON object"
            event["properties"] = value
        elif column == "customer_id" and _WHOLE_NUMBER.fullmatch(cell):
            event[column] = int(cell)
        else:
            event[column] = cell
    if named:
        properties = event.setdefault("properties", {})
        both = sorted(set(named) & set(properties))
        if both:
            return None, f"property {both[0]!r} is both in the properties column and a properties.<name> column"
        properties.update(named)
    return event, None
