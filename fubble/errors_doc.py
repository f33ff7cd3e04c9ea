"""OpenAPI descriptions of fubble's error responses, so /docs shows every error a route can return."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DESCRIPTIONS = {
    401: "No API key, or an unknown or revoked one",
    403: "The API key's scope does not allow this",
    404: "A referenced object does not exist",
    409: "The request conflicts with the current state",
    413: "The request body is too large",
    422: "Invalid values; `detail` says which and why",
    503: "The server is busy, or its database unavailable: send the request again after `Retry-After` seconds (a "
    "busy server refuses a request before doing anything)",
}


class ErrorOut(BaseModel):
    detail: Any


_HEADERS: dict[int, dict[str, Any]] = {
    503: {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}},
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    documented: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        documented[code] = {"model": ErrorOut, "description": _DESCRIPTIONS[code]}
        if code in _HEADERS:
            documented[code]["headers"] = _HEADERS[code]
    return documented
