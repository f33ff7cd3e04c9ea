"""The rules of webhook endpoints and usage alerts that JSON Schema cannot state (see :mod:`tests.fuzz.hooks`).

* An endpoint's ``url`` must name a public host (the SSRF guard: 127.0.0.1, 10.x, ``localhost``... are refused unless
  ``FUBBLE_WEBHOOK_ALLOW_PRIVATE_URLS=true``), and be a URL Python's parser reads with a valid port: a generated URL
  is replaced by one on ``hooks.example.com`` (public where DNS answers; unresolvable names are accepted).
* A usage alert names a stored metric (422 naming the known metrics otherwise).
"""

from __future__ import annotations

import itertools

from schemathesis.generation.case import Case

from tests.fuzz.hook_support import stored_metric

_PATHS = itertools.count(1)


def webhook_url_public(case: Case) -> None:
    body = case.body if isinstance(case.body, dict) else None
    if body is not None and isinstance(body.get("url"), str):
        body["url"] = f"https://hooks.example.com/fubble/{next(_PATHS)}"


def alert_metric_stored(case: Case) -> None:
    body = case.body if isinstance(case.body, dict) else None
    if body is not None and isinstance(body.get("metric_name"), str) and (name := stored_metric(case)) is not None:
        body["metric_name"] = name
