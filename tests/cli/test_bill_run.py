"""``fubble bill`` without a window, as a real process: a billing run as of now or ``--as-of``, printed as the run's
figures and a row per invoice it created; quiet on stderr unless it is a terminal (then a progress bar); refusals as
sentences (1) and wrong command lines (2)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from fubble.api.app import create_app
from fubble.config import Settings
from tests.cli.conftest import FUBBLE, KEY_PATTERN, columns, environment, runner

Run = Callable[..., subprocess.CompletedProcess[str]]
RUN_HEADER = ["run", "as of", "invoices created", "finalized"]
INVOICE_HEADER = ["customer", "invoice", "period", "amount", "currency", "status"]


def set_up(db_url: str, fubble: Run, start: str) -> dict[str, str]:
    """Customers 1 (Acme, USD) and 2 (Bosch, EUR), each subscribed from ``start`` to a plan of a 29.99 monthly fee;
    the headers of an admin key."""
    assert fubble("db", "upgrade").returncode == 0
    key = re.search(KEY_PATTERN, fubble("keys", "create", "setup", "--scope", "admin").stdout)
    assert key is not None
    headers = {"Authorization": f"Bearer {key.group(0)}"}
    plan = {
        "name": "Base",
        "billing_frequency": "monthly",
        "price_components": [
            {"metric_name": "subscription_fee", "pricing_type": "subscription", "pricing_details": {"amount": "29.99"}}
        ],
    }
    with api(db_url, headers) as client:
        plan_id = client.post("/plans/", json=plan).json()["id"]
        for name, currency in (("Acme", "USD"), ("Bosch", "EUR")):
            customer = {"name": name, "email": f"{name.lower()}@example.com", "currency": currency}
            customer_id = client.post("/customers/", json=customer).json()["id"]
            subscription = {"plan_id": plan_id, "start_date": start}
            response = client.post(f"/customers/{customer_id}/subscriptions", json=subscription)
            assert response.status_code in (200, 201), response.text
    return headers


def api(db_url: str, headers: dict[str, str]) -> TestClient:
    return TestClient(create_app(Settings(database_url=db_url)), headers=headers)


def printed(out: str) -> tuple[list[str], list[list[str]], list[str]]:
    """(the run's row, the invoice rows, the total lines) of a run's output."""
    run_table, rest = out.split("\n\n", 1)
    run = columns(run_table, right=("invoices created", "finalized"))
    assert run[0] == RUN_HEADER and len(run) == 2, run_table
    lines = rest.splitlines()
    if lines == ["no invoice created: nothing due by then was left to invoice"]:
        return run[1], [], []
    first_total = next(n for n, line in enumerate(lines) if line.startswith("total "))
    invoices = columns("\n".join(lines[:first_total]), right=("amount",))
    assert invoices[0] == INVOICE_HEADER
    return run[1], invoices[1:], lines[first_total:]


def test_a_run_as_of_an_earlier_instant_bills_each_ended_period_once(db_url: str, fubble: Run) -> None:
    headers = set_up(db_url, fubble, "2023-09-01T00:00:00Z")
    first = fubble("bill", "--as-of", "2023-11-01")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # not a terminal: no progress bar
    run, invoices, totals = printed(first.stdout)
    assert run == ["1", "2023-11-01 00:00:00", "4", "4"]  # grace 0: created finalized
    assert [[row[0], *row[2:]] for row in invoices] == [
        ["1 Acme", "2023-09-01 to 2023-10-01", "29.99", "USD", "new pending"],
        ["1 Acme", "2023-10-01 to 2023-11-01", "29.99", "USD", "new pending"],
        ["2 Bosch", "2023-09-01 to 2023-10-01", "29.99", "EUR", "new pending"],
        ["2 Bosch", "2023-10-01 to 2023-11-01", "29.99", "EUR", "new pending"],
    ]
    numbers = [row[1] for row in invoices]
    assert all(re.fullmatch(r"INV-\S+", number) for number in numbers) and len(set(numbers)) == 4
    assert totals == [
        "total 59.98 EUR over 2 invoices (2 new, 0 already existing)",
        "total 59.98 USD over 2 invoices (2 new, 0 already existing)",
    ]

    again = fubble("bill", "--as-of", "2023-11-01T00:00:00Z")
    assert again.returncode == 0, again.stderr
    assert printed(again.stdout) == (["2", "2023-11-01 00:00:00", "0", "0"], [], [])

    # an offset is converted: 01:00 at +01:00 is midnight UTC, when November ended
    later = fubble("bill", "--as-of", "2023-12-01T01:00:00+01:00")
    assert later.returncode == 0, later.stderr
    run, invoices, totals = printed(later.stdout)
    assert run == ["3", "2023-12-01 00:00:00", "2", "2"]
    assert [(row[0], row[2], row[3]) for row in invoices] == [
        ("1 Acme", "2023-11-01 to 2023-12-01", "29.99"),
        ("2 Bosch", "2023-11-01 to 2023-12-01", "29.99"),
    ]

    with api(db_url, headers) as client:
        runs = client.get("/billing/runs").json()
    assert [(r["id"], r["trigger"], r["invoices_created"]) for r in runs] == [
        (3, "cli", 2),
        (2, "cli", 0),
        (1, "cli", 4),
    ]
    assert all(r["finished_at"] is not None for r in runs)


def test_without_as_of_a_run_bills_what_ended_by_now(db_url: str, fubble: Run) -> None:
    now = datetime.now(UTC)
    month = now.month - 2 + 12 * (now.month <= 2)  # two months back: its period and the next one have ended
    start = datetime(now.year - (now.month <= 2), month, 1, tzinfo=UTC)
    set_up(db_url, fubble, start.isoformat())
    done = fubble("bill")
    assert done.returncode == 0, done.stderr
    run, invoices, totals = printed(done.stdout)
    as_of = datetime.strptime(run[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert now - timedelta(seconds=1) <= as_of <= datetime.now(UTC)
    assert run[2:] == ["4", "4"]
    assert [row[0] for row in invoices] == ["1 Acme", "1 Acme", "2 Bosch", "2 Bosch"]
    assert {row[3] for row in invoices} == {"29.99"} and {row[5] for row in invoices} == {"new pending"}
    assert totals[1] == "total 59.98 USD over 2 invoices (2 new, 0 already existing)"


def test_refusals_exit_1_and_wrong_command_lines_exit_2(db_url: str, fubble: Run) -> None:
    no_schema = fubble("bill")
    assert no_schema.returncode == 1
    assert no_schema.stderr.startswith("error: cannot use the database at ") and "Traceback" not in no_schema.stderr

    assert fubble("db", "upgrade").returncode == 0
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ahead = fubble("bill", "--as-of", future)
    assert (ahead.returncode, ahead.stdout) == (1, "")
    assert ahead.stderr == "error: --as-of must not be after now; to rehearse the future, use a test clock\n"

    not_a_time = fubble("bill", "--as-of", "yesterday")
    assert not_a_time.returncode == 2
    assert "'yesterday' is not an ISO 8601 date or time" in not_a_time.stderr
    usage = {
        ("--start", "2024-01-01"): "error: --start and --end go together (the window is [--start, --end)): --end is "
        "missing\n",
        ("--customer-id", "1"): "error: --customer-id needs --start and --end: a billing run bills every customer\n",
        ("--as-of", "2024-01-01", "--start", "2024-01-01", "--end", "2024-02-01"): "error: --as-of is for a billing "
        "run, without --start and --end\n",
    }
    for args, message in usage.items():
        done = fubble("bill", *args)
        assert (done.returncode, done.stderr, done.stdout) == (2, message, ""), args

    # none of them left a run behind: the first run is number 1
    first = fubble("bill", "--as-of", "2020-01-01")
    assert first.returncode == 0, first.stderr
    assert printed(first.stdout) == (["1", "2020-01-01 00:00:00", "0", "0"], [], [])


def test_help_states_both_modes(sqlite_db: str) -> None:
    done = subprocess.run(
        [FUBBLE, "bill", "--help"],
        capture_output=True,
        text=True,
        env=environment(sqlite_db, COLUMNS="400"),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    for words in (
        "Run billing as of now (or --as-of), or generate draft invoices for a window [--start, --end).",
        "Without --start and --end: a billing run, like POST /billing/runs.",
        "a run interrupted (Ctrl-C, a crash) keeps the batches it committed, and running it again bills the rest, "
        "never a period twice",
        "On a terminal, a progress bar on stderr counts customers.",
        "With --start and --end: draft invoices for that window, like POST /invoices/generate;",
        "Exit status: 0 done, 1 refused (--as-of in the future,",
        "2 a wrong command line.",
        "Never in the future.",
    ):
        assert words in text, words
    assert re.search(r"--as-of\s+DATETIME", done.stdout) and re.search(r"--start\s+DATE\b", done.stdout)


def test_on_a_terminal_stderr_shows_a_progress_bar(sqlite_db: str, tmp_path: Path) -> None:
    set_up(sqlite_db, runner(sqlite_db, tmp_path), "2023-09-01T00:00:00Z")
    leader, follower = pty.openpty()
    out = tmp_path / "bill.out"
    try:
        with out.open("w") as stdout:
            process = subprocess.Popen(
                [FUBBLE, "bill", "--as-of", "2023-10-01"],
                env=environment(sqlite_db, TERM="xterm"),
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=follower,
            )
        os.close(follower)
        terminal = read_all(leader, process)
    finally:
        os.close(leader)
    assert process.returncode == 0, terminal
    assert "billing customers" in terminal and "2/2" in terminal
    assert printed(out.read_text())[0][2] == "2"


def read_all(fd: int, process: subprocess.Popen[Any]) -> str:
    """What the process wrote to the terminal ``fd`` until it ended."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the terminal closed: the process has ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    process.wait(30)
    return b"".join(chunks).decode(errors="replace")
