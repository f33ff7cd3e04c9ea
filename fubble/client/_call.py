"""One API operation as data: :class:`Call` (method, path, query, body, the type of the answer), and the exact JSON
it travels as.

The operations of :mod:`fubble.client.ops` build calls; the sync and async requesters (:mod:`fubble.client._transport`)
send them, so each operation is written once for :class:`~fubble.client.Client`, :class:`~fubble.client.AsyncClient`
and :class:`~fubble.Engine`.

On the wire, numbers stay exact both ways: answers are parsed with every non-integer number as a ``Decimal`` and
validated into the server's own response models; request bodies are written by the server's own encoder
(:func:`fubble.api.json.dumps`), which writes a ``Decimal`` with its exact digits and refuses a ``float`` (pass
``Decimal("0.01")``, a string or an int).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import TypeAdapter

from fubble.api.json import dumps
from fubble.db.types import to_utc

T = TypeVar("T")

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request to send and how to read its answer (``answer``: the server's response type)."""

    method: str
    path: str
    answer: TypeAdapter[T]
    params: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None  # None: no body

    @property
    def writes(self) -> bool:
        return self.method in WRITE_METHODS


def segment(value: object) -> str:
    """A path parameter, percent-encoded whole (a metric's name may hold ``/``)."""
    return quote(str(value.value if isinstance(value, Enum) else value), safe="")


def given(**fields: Any) -> dict[str, Any]:
    """The fields that are not None (for optional arguments where None means "not sent")."""
    return {name: value for name, value in fields.items() if value is not None}


def page(limit: int, offset: int, **params: Any) -> dict[str, Any]:
    return {"limit": limit, "offset": offset, **params}


def encode_body(body: Any) -> bytes:
    return dumps(body)


def query_params(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Query parameters as text: None left out, booleans ``true``/``false``, times in UTC ISO 8601, decimals exact,
    lists repeated."""
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:
                pairs.append((name, _query_text(item)))
    return tuple(pairs)


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return to_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        raise TypeError(f"a float ({value!r}) cannot be sent exactly; pass a Decimal, a string or an int")
    if isinstance(value, Decimal | int | str):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} {value!r} as a query parameter")


def decode(content: bytes) -> Any:
    """A JSON answer with every non-integer number as an exact ``Decimal`` (``None`` for an empty body)."""
    if not content:
        return None
    return json.loads(content, parse_float=Decimal)


def parse(call: Call[T], content: bytes) -> T:
    """The answer to ``call`` as the server's response type."""
    return call.answer.validate_python(decode(content))
