"""README's examples work when pasted: every ``bash`` block of README.md (except those marked
``<!-- readme-test: skip ... -->`` on the line before the fence) runs, in order, in one bash script against a real
``fubble serve --no-auth`` started on a fresh database, on SQLite and on PostgreSQL. A request the service refuses
(4xx or 5xx) fails the script, and so does any command that exits non-zero. Then every ``python`` block runs, in
order, as a script of its own in the same directory, against the same server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bench.server import ServerProcess, database_url
from tests.conftest import require_postgres

pytestmark = pytest.mark.slow  # a long file: scheduled first (tests/conftest.py)

README = Path(__file__).resolve().parent.parent / "README.md"
SKIP_MARK = "<!-- readme-test: skip"
DOC_URL = "http://127.0.0.1:8000"


def bash_blocks(text: str, language: str = "bash") -> list[str]:
    """The README's runnable blocks of ``language``, in order."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == f"```{language}":
            previous = next((line for line in reversed(lines[:i]) if line.strip()), "")
            end = lines.index("```", i + 1)
            if not previous.startswith(SKIP_MARK):
                blocks.append("\n".join(lines[i + 1 : end]))
            i = end
        i += 1
    return blocks


def test_the_readme_has_runnable_blocks_and_marks_the_rest() -> None:
    text = README.read_text()
    fences = len(re.findall(r"^```bash$", text, flags=re.MULTILINE))
    runnable = bash_blocks(text)
    assert len(runnable) >= 10
    assert fences - len(runnable) <= 5  # the set-up commands, `fubble serve`, keys with auth on, PostgreSQL set-up


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'readme.db'}"
        return
    require_postgres()
    with database_url("postgres", prefix="fubble_readme") as url:
        yield url


def _get(base: str, path: str) -> object:
    with urllib.request.urlopen(base + path, timeout=10) as response:
        return json.load(response, parse_float=Decimal)


def test_every_readme_example_runs_against_a_real_server(fresh_url: str, tmp_path: Path) -> None:
    server = ServerProcess(
        fresh_url,
        workers=1,
        log_dir=tmp_path,
        access_log=False,
        extra_args=["--no-auth"],
        extra_env={"FUBBLE_BILLING_INTERVAL_SECONDS": "0"},  # as the README says to serve while following it
    )
    base = server.start()
    try:
        script = "\n".join(block.replace(DOC_URL, base) for block in bash_blocks(README.read_text()))
        # Every curl fails the script on an HTTP error (the README's own commands print the body either way).
        prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; echo; }\n'
        env = {
            **os.environ,
            "FUBBLE_DATABASE_URL": fresh_url,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        env.pop("FUBBLE_AUTH_ENABLED", None)
        done = subprocess.run(
            ["bash", "-c", prelude + script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, f"README example failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        # The amounts the README states, as the service now holds them.
        first = _get(base, "/invoices/1")
        assert isinstance(first, dict)
        assert (first["status"], str(first["amount"])) == ("paid", "42.49")
        manual = _get(base, "/invoices/2")
        assert isinstance(manual, dict)
        assert (manual["status"], str(manual["amount"])) == ("void", "100.00")
        # 1,500 when the README shows it; the late event of the billing runs section adds 300
        assert _get(base, "/events/customers/1/usage?start_date=2024-01-01&end_date=2024-02-01") == {"api_calls": 1800}
        backfill = _get(base, "/billing/runs/2")
        assert isinstance(backfill, dict) and backfill["invoice_ids"] == [3, 4, 5, 6]
        amounts = []
        for invoice_id in backfill["invoice_ids"]:
            invoice = _get(base, f"/invoices/{invoice_id}")
            assert isinstance(invoice, dict)
            amounts.append((invoice["customer_id"], invoice["status"], str(invoice["amount"])))
        assert amounts == [
            (1, "pending", "30.61"),
            (1, "pending", "29.99"),
            (2, "pending", "99.00"),
            (2, "pending", "99.00"),
        ]
        april = _get(base, "/invoices/7")
        assert isinstance(april, dict) and (april["customer_id"], str(april["amount"])) == (1, "31.49")
        [adjustment] = [line for line in april["invoice_items"] if line["kind"] == "adjustment"]
        assert adjustment["description"] == "Adjustment for api_calls, 2024-01-01 to 2024-02-01"
        assert str(adjustment["amount"]) == "1.50"
        rehearsed = _get(base, "/invoices/customer/4")
        assert isinstance(rehearsed, list)
        assert [(i["period_start"][:10], str(i["amount"])) for i in rehearsed] == [
            ("2024-01-01", "29.99"),
            ("2024-02-01", "29.99"),
            ("2024-03-01", "29.99"),
        ]
        terms = _get(base, "/invoices/11")
        assert isinstance(terms, dict)
        figures = ("subtotal", "discount_amount", "tax_amount", "total", "credits_applied", "amount_due")
        assert [str(terms[name]) for name in figures] == ["100.00", "20.00", "16.00", "96.00", "10.00", "86.00"]
        assert (terms["customer_id"], terms["status"]) == (1, "pending")
        [note] = _get(base, "/invoices/11/credit-notes")  # type: ignore[misc]
        assert (note["number"][:3], str(note["amount"]), note["method"]) == ("CN-", "24.00", "credit")
        assert '"accepted":2' in done.stdout.replace(" ", "")
        assert (tmp_path / "invoice-11.pdf").read_bytes().startswith(b"%PDF-")
        assert "86.00" in (tmp_path / "invoice-11.html").read_text()  # the amount due
        assert (tmp_path / "invoices.csv").read_text().startswith("invoice_id,")
        printed = [
            _run_python(block.replace(DOC_URL, base), tmp_path, env)
            for block in bash_blocks(README.read_text(), "python")
        ]
        assert printed[0].split("\n")[:3] == ["245", "12.50", "pending"]
        assert printed[0].split("\n")[3].startswith("409 ")
        assert printed[1] == "pending 42.49\n"
    finally:
        server.stop()


def _run_python(code: str, cwd: Path, env: dict[str, str]) -> str:
    """What a README ``python`` block prints, run as a script in ``cwd``; it must exit 0."""
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"README python example failed:\n{code}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout
