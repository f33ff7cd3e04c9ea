"""``bench import`` runs the real CLI twice on a fresh database: everything stored once, then only duplicates."""

from __future__ import annotations

import pytest

from bench import event_import


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_bench_import_stores_the_file_once(
    database: str, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    if database == "postgres":
        request.getfixturevalue("postgres_url")  # skipped (or failed, in CI) like every test when it is unreachable
    event_import.main(["--database", database, "--events", "300", "--customers", "7"])
    out = capsys.readouterr().out
    assert f"{database}: 300 events of 7 customers (their own event ids)" in out
    assert "import: " in out and "accepted 300, duplicates 0, errors 0" in out
    assert "the same file again: " in out and "accepted 0, duplicates 300, errors 0" in out


def test_bench_import_without_event_ids_stores_each_line_once(capsys: pytest.CaptureFixture[str]) -> None:
    """Ids derived from content and occurrence: the repeated lines (every tenth) are events of their own, and the
    second run stores nothing."""
    event_import.main(["--database", "sqlite", "--events", "300", "--customers", "7", "--without-event-ids"])
    out = capsys.readouterr().out
    assert "sqlite: 300 events of 7 customers (derived event ids)" in out
    assert "accepted 300, duplicates 0, errors 0" in out and "accepted 0, duplicates 300, errors 0" in out
