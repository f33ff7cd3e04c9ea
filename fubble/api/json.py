"""Exact JSON on the wire: numbers parse to ``Decimal`` and ``Decimal`` values are written with their exact digits."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import simplejson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from fubble.db.types import decimal_text, to_utc


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a valid JSON number", name, 0)


# A number literal longer than this is refused while parsing (its text alone costs; nothing fubble stores needs it).
MAX_NUMBER_CHARS = 64
# Any other JSON number parses, whatever its exponent (5e-324, 3.2e66), so that the field it is in refuses it with
# its own rule and location: exact decimal fields by their digit limits (fubble.api.fields), free-form JSON (metadata,
# properties, filter values) by these (:func:`exponent_problem`): at most MAX_EXPONENT decimal places and less than
# 10^(MAX_EXPONENT + 1) in magnitude, since a tiny "1e999999999" would otherwise expand to a gigabyte when written
# back in positional notation.
MAX_EXPONENT = 40
FREE_NUMBER_SCHEMA: dict[str, Any] = {
    "type": "number",
    "multipleOf": float(f"1e-{MAX_EXPONENT}"),
    "exclusiveMinimum": -float(f"1e{MAX_EXPONENT + 1}"),
    "exclusiveMaximum": float(f"1e{MAX_EXPONENT + 1}"),
}


def parse_decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise json.JSONDecodeError(f"number {text[:20]}... is too long", text, 0)
    return Decimal(text)


def exponent_problem(value: Any) -> str | None:
    """What is wrong with a number somewhere in free-form JSON ``value`` (its exponent beyond +-MAX_EXPONENT)."""
    if isinstance(value, Decimal):
        _sign, digits, exponent = value.as_tuple()
        if not isinstance(exponent, int):  # NaN and Infinity never parse
            return "numbers must be finite"
        zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))  # trailing zeros are not decimal places
        if value and (value.adjusted() > MAX_EXPONENT or exponent + zeros < -MAX_EXPONENT):
            return f"numbers must have at most {MAX_EXPONENT} decimal places and be less than 1e{MAX_EXPONENT + 1}"
        return None
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else ()
    for item in items:
        problem = exponent_problem(item)
        if problem is not None:
            return problem
    return None


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise json.JSONDecodeError(f"integer {text[:20]}... is out of range", text, 0)
    return int(text)


def loads(body: bytes | str) -> Any:
    """Parse JSON with every non-integer number as an exact ``Decimal``; NaN, Infinity and absurdly large or long
    numbers are rejected."""
    try:
        return json.loads(body, parse_float=parse_decimal, parse_int=_parse_int, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise json.JSONDecodeError("JSON nested too deeply", "", 0) from exc
    except UnicodeDecodeError as exc:  # FastAPI would turn this into an undocumented 400; it is invalid JSON (422)
        raise json.JSONDecodeError("the body is not valid UTF-8", "", exc.start) from exc


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _plain(value.model_dump(mode="python", by_alias=True))
    if isinstance(value, Decimal):
        return simplejson.RawJSON(decimal_text(value))
    if isinstance(value, datetime):
        return to_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        raise TypeError("a float reached the JSON encoder; money and quantities must be Decimal")
    return value


def dumps(value: Any) -> bytes:
    return simplejson.dumps(_plain(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class ExactJSONResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class ExactJSONRequest(Request):
    """A request whose ``json()`` keeps decimals exact (FastAPI reads bodies through it)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            value = loads(await self.body())
            # No body is a bare number. FastAPI validates bodies with from_attributes, so a Decimal would pass for an
            # object without attributes (a model whose fields are all optional accepted it): refused as a float is.
            self._json = float(value) if isinstance(value, Decimal) else value
        return self._json
