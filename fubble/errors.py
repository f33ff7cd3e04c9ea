"""The one error tree of fubble.

Every error a caller can cause is a :class:`FubbleError`. Each carries the HTTP status it maps to, so the web layer
turns any of them into ``{"detail": ...}`` with one handler, and the CLI prints the same message. This module imports
nothing from the web or database layers; the pure pricing core raises these too.

::

    FubbleError                      500  base class; never raised directly
    ├── InvalidInput                 422  the request is well-formed JSON but its values are wrong
    ├── NotFound                     404  a referenced object does not exist
    ├── Conflict                     409  the request contradicts the current state
    │   └── IllegalTransition        409  an invoice status change the state machine forbids
    ├── Unauthorized                 401  no or unknown API key
    ├── Forbidden                    403  the key's scope does not allow this
    ├── PayloadTooLarge              413  the request body exceeds the configured limit
    └── Unavailable                  503  the server is busy: nothing was done, retry after ``Retry-After`` seconds
"""

from __future__ import annotations

from typing import Any


class FubbleError(Exception):
    """Base of every error fubble raises on purpose."""

    status_code: int = 500
    headers: dict[str, str] | None = None  # extra response headers

    def __init__(self, detail: Any) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail


class InvalidInput(FubbleError):
    """Values that fail a business rule (HTTP 422).

    ``detail`` is a message, or a list of ``{"loc": [...], "msg": ...}`` entries like FastAPI's own validation errors.
    """

    status_code = 422

    @classmethod
    def at(cls, loc: tuple[str | int, ...] | list[str | int], msg: str) -> InvalidInput:
        """An error about one field, located like pydantic's errors (``("pricing_details", "tiers", 0)``)."""
        return cls([entry(loc, msg)])

    def entries_under(self, prefix: tuple[str | int, ...]) -> list[dict[str, Any]]:
        """This error's entries with ``prefix`` put in front of each ``loc``: an error of a nested value (a price
        component's details) located in the request (``("body", "price_components", 2, ...)``)."""
        entries = self.detail if isinstance(self.detail, list) else [self.detail]
        return [
            {**e, "loc": [*prefix, *e.get("loc", [])]} if isinstance(e, dict) else entry(prefix, str(e))
            for e in entries
        ]


def entry(loc: tuple[str | int, ...] | list[str | int], msg: str) -> dict[str, Any]:
    """One ``{"loc", "msg", "type"}`` entry of an :class:`InvalidInput`."""
    return {"loc": list(loc), "msg": msg, "type": "value_error"}


class NotFound(FubbleError):
    status_code = 404


class Conflict(FubbleError):
    status_code = 409


class IllegalTransition(Conflict):
    pass


class Unauthorized(FubbleError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(FubbleError):
    status_code = 403


class PayloadTooLarge(FubbleError):
    status_code = 413


class Unavailable(FubbleError):
    """Refused before anything was done, because the server is busy (see :mod:`fubble.api.admission`): the client
    may send the same request again after ``retry_after_s`` seconds (the ``Retry-After`` header)."""

    status_code = 503

    def __init__(self, detail: Any, *, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_s)}
