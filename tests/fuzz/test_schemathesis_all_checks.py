"""The OpenAPI document tells the truth: schemathesis, with every check, finds nothing.

A real ``fubble serve`` process (authentication off, loopback) on PostgreSQL is tested over HTTP by schemathesis's
own engine, as ``schemathesis run URL --checks all --phases examples,fuzzing,stateful`` does, at a fixed seed (so CI
sends the same requests every run) and with few examples per operation. The ``coverage`` phase (every boundary value
of every parameter: two and a half minutes on two cores, a quarter of the suite's budget) runs in
``scripts/schemathesis.sh``, with every other phase, for longer; the in-process fuzzer
(``tests/fuzz/test_openapi_fuzz.py``) sends valid and invalid values of every operation on SQLite in the suite.
Every check is on: no 5xx, documented status codes, content types, headers and bodies; schema-valid requests
accepted and schema-invalid ones refused; 405 with the right ``Allow`` for undocumented methods; created objects found
through the OpenAPI links.

The rules JSON Schema cannot state (between two fields, between the query and the body, against stored state) are
taught to the generator of positive cases by :mod:`tests.fuzz.hooks`, which both load; nothing is tolerated.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from bench.server import running_server
from fubble.db.session import Database
from tests.fuzz import hooks  # noqa: F401  (registers the hooks: the rules JSON Schema cannot state)

pytestmark = pytest.mark.slow  # scheduled first: see tests/conftest.py

CONFIG = Path(__file__).parents[2] / "scripts" / "schemathesis.toml"
SEED = 1
MAX_EXAMPLES = 8
PHASES = ("examples", "fuzzing", "stateful")  # and coverage in scripts/schemathesis.sh


def run_schemathesis(base_url: str, *, seed: int, max_examples: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Every failure schemathesis finds at ``base_url``: (operation, failure, the request and response), and the
    errors that stopped a part of the run."""
    with CONFIG.open("rb") as file:
        settings = tomllib.load(file)  # stateful testing follows the declared links only (see the file)
    settings.update(seed=seed, generation={"max-examples": max_examples})
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        settings.setdefault("phases", {}).setdefault(phase, {})["enabled"] = phase in PHASES
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
            response = f"{interaction.response.status_code} {interaction.response.content[:1000]!r}"
    return f"{failure.message}\n    {request}\n    -> {response}"


@pytest.mark.parametrize("database", ["postgres"], indirect=True)  # SQLite: tests/fuzz/test_openapi_fuzz.py
def test_schemathesis_with_every_check_and_phase_finds_nothing(db: Database) -> None:
    with running_server(db.url, extra_env={"FUBBLE_AUTH_ENABLED": "false"}, access_log=False) as base_url:
        failures, errors = run_schemathesis(base_url, seed=SEED, max_examples=MAX_EXAMPLES)
    assert not errors, errors
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(
        f"{op} ({title}): {detail}" for op, title, detail in failures
    )
