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
}


class ErrorOut(BaseModel):
    detail: Any


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}
