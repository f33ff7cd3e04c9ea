"""What the client raises: the classes of fubble's one error tree (:mod:`fubble.errors`), with the HTTP answer.

An error answer is raised as a subclass of both :class:`APIError` (``status_code``, ``detail``, ``response``) and
the :mod:`fubble.errors` class of its status, so code that handles fubble's errors handles the client's and the
engine's the same way::

    try:
        client.customers.get(42)
    except fubble.errors.NotFound as exc:      # also fubble.client.NotFoundError, and fubble.client.APIError
        print(exc.detail)                      # the server's {"detail": ...}

    ``404`` NotFoundError (errors.NotFound)    ``409`` ConflictError (errors.Conflict)
    ``422`` InvalidInputError (errors.InvalidInput: ``detail`` is the server's list of ``{"loc", "msg", "type"}``,
            ``loc`` naming the field, e.g. ``["body", "email"]``; a refused event batch's ``detail`` is
            ``{"message", "errors": [{"index", "event_id", "reason"}]}``)
    ``401`` UnauthorizedError    ``403`` ForbiddenError    ``413`` PayloadTooLargeError
    ``503`` UnavailableError (errors.Unavailable: the server was busy and did nothing; raised once the retries are
            used up)
    other   APIError (a 500, a 405, ...)

A request that got no answer at all (the server unreachable, the connection lost), on every attempt, raises
:class:`APIConnectionError`, with the transport's exception as its ``__cause__``.
"""

from __future__ import annotations

from typing import Any

import httpx

from fubble import errors
from fubble.errors import FubbleError


class APIError(FubbleError):
    """The server answered with an error status (``status_code``); ``detail`` is its ``{"detail": ...}``."""

    def __init__(self, detail: Any, *, status_code: int, response: httpx.Response | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.response = response
        self.headers = dict(response.headers) if response is not None else None

    def __str__(self) -> str:
        return f"{self.status_code}: {super().__str__()}"


class InvalidInputError(APIError, errors.InvalidInput):
    pass


class NotFoundError(APIError, errors.NotFound):
    pass


class ConflictError(APIError, errors.Conflict):
    pass


class UnauthorizedError(APIError, errors.Unauthorized):
    pass


class ForbiddenError(APIError, errors.Forbidden):
    pass


class PayloadTooLargeError(APIError, errors.PayloadTooLarge):
    pass


class UnavailableError(APIError, errors.Unavailable):
    pass


class APIConnectionError(FubbleError):
    """No answer: the server could not be reached, or the connection broke, on every attempt."""


_BY_STATUS: dict[int, type[APIError]] = {
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: InvalidInputError,
    503: UnavailableError,
}


def error_for(response: httpx.Response, detail: Any) -> APIError:
    """The exception for an error answer whose body held ``detail``."""
    kind = _BY_STATUS.get(response.status_code, APIError)
    return kind(detail, status_code=response.status_code, response=response)
