"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is ``whsec_`` followed by the base64 of 32 random bytes; the key is those bytes. Each attempt is sent with

* ``webhook-id``: the message's id (``msg_...``), the same on every attempt (receivers deduplicate on it);
* ``webhook-timestamp``: the attempt's time, in whole seconds since 1970 (real time: receivers refuse stale ones);
* ``webhook-signature``: ``v1,`` and the base64 of HMAC-SHA256(key, ``"{id}.{timestamp}.{body}"``); after a
  rotation, while the secret it replaced still signs, the signatures of both, separated by a space (the current
  secret's first), so a receiver verifies with either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from fubble import __version__

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(16)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def headers(signing_secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt, signed with each of ``signing_secrets`` (at least one)."""
    return {
        "content-type": "application/json",
        "user-agent": f"fubble-webhooks/{__version__}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(secret, message_id, timestamp, body) for secret in signing_secrets),
    }
