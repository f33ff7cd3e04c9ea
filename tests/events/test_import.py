"""``fubble events import FILE``: NDJSON and CSV, idempotent re-runs, resuming after a bad line, external ids."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from fubble.cli import app
from fubble.config import get_settings
from fubble.db.migrate import upgrade
from fubble.db.models import Customer, Event
from fubble.db.models.metric import Metric
from fubble.db.session import Database
from fubble.events.importer import CHECKPOINT_SUFFIX

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SUMMARY = re.compile(r"accepted (\d+), duplicates (\d+), errors (\d+)")


@pytest.fixture
def import_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A migrated SQLite file with customers 1 (external id ext-1) and 2, and the metric api_calls."""
    url = f"sqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("FUBBLE_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    upgrade(url)
    db = Database(url)
    with db.transaction() as session:
        for n, external in ((1, "ext-1"), (2, None)):
            session.add(
                Customer(
                    name=f"c{n}", email=f"c{n}@x.com", currency="USD", external_id=external, invoice_seq=0,
                    created_at=T0, updated_at=T0,
                )
            )  # fmt: skip
        session.add(Metric(name="api_calls", aggregation="sum", filters=[], created_at=T0, updated_at=T0))
    yield db
    db.dispose()
    get_settings.cache_clear()


def invoke(*args: str) -> Result:
    get_settings.cache_clear()
    return CliRunner().invoke(app, ["events", "import", *args])


def summary(result: Result) -> tuple[int, int, int]:
    match = SUMMARY.search(result.output)
    assert match is not None, result.output
    accepted, duplicates, errors = (int(g) for g in match.groups())
    return accepted, duplicates, errors


def stored(db: Database) -> list[Event]:
    with db.transaction() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def count(db: Database) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def ndjson(path: Path, events: list[dict[str, Any] | str]) -> Path:
    lines = [e if isinstance(e, str) else json.dumps(e) for e in events]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def api_call(n: int, **fields: Any) -> dict[str, Any]:
    time = f"2024-01-02T00:00:{n % 60:02d}Z"
    return {"customer_id": 2, "metric_name": "api_calls", "quantity": 1, "event_time": time, **fields}


def test_ndjson_import_and_rerun_adds_nothing(import_db: Database, tmp_path: Path) -> None:
    file = ndjson(
        tmp_path / "events.ndjson",
        [
            api_call(1, quantity="1.50"),
            api_call(2, customer_id=None, external_customer_id="ext-1"),
            "",
            api_call(3, event_id="mine-3", properties={"region": "eu", "n": 2.5}),
            api_call(4, customer_id=1, external_customer_id="ext-1"),
            {"external_customer_id": "ext-1", "metric_name": "api_calls", "quantity": 7},  # no time: now
        ],
    )
    result = invoke(str(file), "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert summary(result) == (5, 0, 0)
    assert "importing events.ndjson" not in result.output  # no progress bar when stderr is not a terminal
    assert re.search(r"\(5 events in \d+\.\ds, [\d,]+ events/s\)", result.output)  # the summary line
    events = stored(import_db)
    derived = [str(e.event_id) for e in events if e.event_id != "mine-3"]
    shape = r"import:(2024-01-02T00:00:0\d\+00:00)?:[0-9a-f]{20}:1"  # the event's time (if any), content, occurrence
    assert len(derived) == 4 and all(re.fullmatch(shape, key) for key in derived), derived
    by_second = {e.event_time.second: e for e in events if e.event_time.year == 2024}
    assert by_second[1].quantity == Decimal("1.5")
    assert by_second[2].customer_id == 1  # the external id, resolved
    assert by_second[3].event_id == "mine-3" and by_second[3].properties == {"region": "eu", "n": Decimal("2.5")}
    assert not (tmp_path / f"events.ndjson{CHECKPOINT_SUFFIX}").exists()

    again = invoke(str(file), "--batch-size", "2")
    assert again.exit_code == 0, again.output
    assert summary(again) == (0, 5, 0)
    assert count(import_db) == 5


def test_csv_import_with_property_columns(import_db: Database, tmp_path: Path) -> None:
    file = tmp_path / "usage.csv"
    file.write_text(
        "\ufeffevent_id,customer_id,external_customer_id,metric_name,quantity,event_time,properties,properties.method\n"
        'a,2,,api_calls,2.5,2024-01-02T00:00:00Z,"{""n"": 1}",GET\n'
        ',,ext-1,api_calls,1,2024-01-02T01:00:00Z,,"multi\nline"\n'
        "\n"
        ",1,ext-1,api_calls,3,2024-01-02T02:00:00+01:00,,\n",
        encoding="utf-8",
    )
    result = invoke(str(file))
    assert result.exit_code == 0, result.output
    assert summary(result) == (3, 0, 0)
    events = {e.event_id: e for e in stored(import_db)}
    assert events["a"].properties == {"n": 1, "method": "GET"}
    assert events["a"].quantity == Decimal("2.5")
    [multi] = [e for e in events.values() if e.properties == {"method": "multi\nline"}]
    assert multi.customer_id == 1 and multi.event_time == datetime(2024, 1, 2, 1, tzinfo=UTC)
    [last] = [e for e in events.values() if e.quantity == 3]
    assert last.event_time == datetime(2024, 1, 2, 1, tzinfo=UTC)
    assert summary(invoke(str(file))) == (0, 3, 0)


def test_bad_line_stops_and_a_fixed_file_resumes_without_duplicates(import_db: Database, tmp_path: Path) -> None:
    events: list[dict[str, Any] | str] = [api_call(n) for n in range(1, 11)]
    events[6] = api_call(7, quantity=-1)  # line 7, in the fourth batch of two
    file = ndjson(tmp_path / "events.jsonl", events)
    checkpoint = tmp_path / f"events.jsonl{CHECKPOINT_SUFFIX}"

    failed = invoke(str(file), "--batch-size", "2")
    assert failed.exit_code == 1, failed.output
    assert "line 7: quantity: " in failed.output
    assert "continue from line 7" in failed.output
    assert summary(failed) == (6, 0, 1)
    assert count(import_db) == 6  # batches 1-3 committed, the fourth (lines 7-8) not
    assert json.loads(checkpoint.read_text())["line"] == 7

    events[6] = api_call(7, quantity=7)
    ndjson(file, events)
    resumed = invoke(str(file), "--batch-size", "2")
    assert resumed.exit_code == 0, resumed.output
    assert "resum" in resumed.output
    assert summary(resumed) == (4, 0, 0)
    assert count(import_db) == 10
    assert sum((e.quantity for e in stored(import_db)), Decimal(0)) == Decimal(16)
    assert not checkpoint.exists()


def test_bad_json_line_and_unknown_external_id(import_db: Database, tmp_path: Path) -> None:
    file = ndjson(tmp_path / "a.ndjson", [api_call(1), "{not json", api_call(3)])
    result = invoke(str(file))
    assert result.exit_code == 1
    assert "line 2: invalid JSON" in result.output
    assert count(import_db) == 0

    file = ndjson(tmp_path / "b.ndjson", [api_call(1), api_call(2, customer_id=None, external_customer_id="nope")])
    result = invoke(str(file))
    assert result.exit_code == 1
    assert "line 2: customer with external_id 'nope' not found" in result.output

    file = ndjson(tmp_path / "c.ndjson", [api_call(1, customer_id=2, external_customer_id="ext-1"), "[1]"])
    result = invoke(str(file))
    assert result.exit_code == 1
    assert "line 2: must be a JSON object, not a list" in result.output
    file = ndjson(tmp_path / "d.ndjson", [api_call(1, customer_id=2, external_customer_id="ext-1")])
    assert "name different customers" in invoke(str(file)).output
    assert count(import_db) == 0


def test_a_file_changed_before_its_checkpoint_is_refused_unless_restarted(import_db: Database, tmp_path: Path) -> None:
    events: list[dict[str, Any] | str] = [api_call(n) for n in range(1, 6)]
    events[3] = api_call(4, metric_name="unknown")
    file = ndjson(tmp_path / "events.ndjson", events)
    assert invoke(str(file), "--batch-size", "2").exit_code == 1
    assert count(import_db) == 2
    events[0] = api_call(1, quantity=100)  # before the checkpoint (line 3)
    events[3] = api_call(4)
    ndjson(file, events)
    refused = invoke(str(file), "--batch-size", "2")
    assert refused.exit_code == 1
    assert "the file changed before line 3" in refused.output and "--restart" in refused.output
    restarted = invoke(str(file), "--batch-size", "2", "--restart")
    assert restarted.exit_code == 0, restarted.output
    assert summary(restarted) == (4, 1, 0)  # line 2 was stored; the changed line 1 is a new event, as are 3-5
    assert count(import_db) == 6  # the old line 1 stays: nothing tells a correction from a new event


def test_format_and_header_errors(import_db: Database, tmp_path: Path) -> None:
    odd = tmp_path / "events.txt"
    odd.write_text(json.dumps(api_call(1)) + "\n")
    result = invoke(str(odd))
    assert result.exit_code == 1 and "--format" in result.output
    assert invoke(str(odd), "--format", "xml").exit_code == 1
    assert summary(invoke(str(odd), "--format", "ndjson")) == (1, 0, 0)

    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,metric_name,quantity,colour\n2,api_calls,1,red\n")
    result = invoke(str(bad))
    assert result.exit_code == 1 and "unknown column 'colour'" in result.output
    bad.write_text("metric_name,quantity\napi_calls,1\n")
    assert "missing column(s): customer_id or external_customer_id" in invoke(str(bad)).output
    bad.write_text("customer_id,metric_name,quantity\n2,api_calls\n")
    assert "line 2: has 2 cells, the header has 3" in invoke(str(bad)).output
    bad.write_text("customer_id,metric_name,quantity,properties\n2,api_calls,1,[1]\n")
    assert "line 2: properties: must be a JSON object" in invoke(str(bad)).output
    assert invoke(str(tmp_path / "missing.csv")).exit_code == 2
    assert count(import_db) == 1


def test_help_documents_the_columns() -> None:
    result = CliRunner().invoke(app, ["events", "import", "--help"])
    assert result.exit_code == 0
    for word in ("external_customer_id", "properties.NAME", "--restart", "--batch-size", "--format"):
        assert word in result.output
