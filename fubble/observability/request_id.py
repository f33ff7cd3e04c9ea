"""The request id: one per HTTP request, sent back as ``X-Request-ID`` and attached to the request's log records.

A client's own ``X-Request-ID`` is kept when it is sane (:func:`accepted`: 1 to :data:`MAX_LENGTH` printable ASCII
characters, no spaces), so a caller can follow its request through the logs; any other request gets a new one (a
random version-4 UUID as 32 hex digits). The id of the request being served is :data:`current` (a context variable:
the request's task and the threads it runs work in see it; other requests do not).
"""

from __future__ import annotations

import random
import re
from contextvars import ContextVar

HEADER = b"x-request-id"  # as ASGI servers give header names: lower case
MAX_LENGTH = 128
_SANE = re.compile(rb"[\x21-\x7e]{1,%d}" % MAX_LENGTH)
# The version (4) and variant (RFC 4122) bits of a random UUID: cleared, then set.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (0x4000 << 64) | (0x8000 << 48)

current: ContextVar[str | None] = ContextVar("fubble_request_id", default=None)


def accepted(sent: bytes | None) -> str:
    """The request's id: ``sent`` (the raw value of the client's header, if any) when it is sane, else a new one."""
    if sent is not None and _SANE.fullmatch(sent):
        return sent.decode("ascii")
    return new()


def new() -> str:
    """A random UUID (version 4) as 32 hex digits, like ``uuid.uuid4().hex`` in a quarter of the time: from
    :mod:`random` (reseeded in each forked process), as an id needs to be unique, not secret."""
    return "%032x" % (random.getrandbits(128) & _CLEAR | _SET)
