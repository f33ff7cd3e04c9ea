"""The log formats of ``fubble serve``: one JSON object per line, or lines for people, chosen by FUBBLE_LOG_FORMAT."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fubble.config import Settings
from fubble.observability import logs, request_id


def record(message: str = "served %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("fubble.test", logging.WARNING, __file__, 1, message, args or ("it",), None)
    made.__dict__.update(extra)
    logs.RequestIdFilter().filter(made)
    return made


def test_a_json_line_has_time_level_logger_message_request_id_and_the_extra_fields() -> None:
    token = request_id.current.set("req-1")
    try:
        line = logs.JSONFormatter().format(record(status=200, duration_ms=1.25, where=Path("/x")))
    finally:
        request_id.current.reset(token)
    entry = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.pop("time"))
    assert entry == {
        "level": "WARNING",
        "logger": "fubble.test",
        "message": "served it",
        "request_id": "req-1",
        "status": 200,
        "duration_ms": 1.25,
        "where": "/x",  # what JSON has no type for, as its str()
    }


def test_a_json_line_holds_its_traceback_on_one_line() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        failed = logging.LogRecord("fubble.api", logging.ERROR, __file__, 1, "unhandled error", (), sys.exc_info())
    line = logs.JSONFormatter().format(failed)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] is None  # outside a request
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert entry["exception"].endswith("ValueError: bad\nvalue")


def test_a_text_line_reads_like_a_sentence_with_its_fields_after() -> None:
    token = request_id.current.set("req-2")
    try:
        line = logs.TextFormatter().format(record("GET %s 200", "/health", status=200, color_message="x"))
    finally:
        request_id.current.reset(token)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} WARNING fubble\.test: GET /health 200  request_id=req-2 status=200",
        line,
    ), line


def test_the_format_is_json_unless_stderr_is_a_terminal_or_the_setting_says(tmp_path: Path) -> None:
    assert Settings().log_format == "auto"
    main, other = os.openpty()
    with os.fdopen(main, "w") as terminal, os.fdopen(other, "w"), (tmp_path / "log").open("w") as file:
        assert logs.chosen_format("auto", terminal) == "text"
        assert logs.chosen_format("auto", file) == "json"
        assert logs.chosen_format("json", terminal) == "json"
        assert logs.chosen_format("text", file) == "text"
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")  # type: ignore[arg-type]


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """Logging as it was before the test applied a configuration."""
    names = ["fubble", "fubble.access", "uvicorn", "uvicorn.error", "uvicorn.access", "alembic"]
    loggers = [logging.root] + [logging.getLogger(name) for name in names]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate, lg.disabled) for lg in loggers]
    yield
    for lg, level, handlers, propagate, disabled in saved:
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate = propagate
        lg.disabled = disabled


@pytest.mark.usefixtures("logging_restored")
def test_the_server_configuration_sends_fubbles_and_uvicorns_logs_through_one_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logging.config.dictConfig(logs.log_config("json", access_log=False))
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("fubble.billing").info("billed")
    logging.getLogger("fubble.access").info("not written: the access log is off")
    logging.getLogger("alembic.runtime").info("not written: below WARNING")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(entry["logger"], entry["message"]) for entry in lines] == [
        ("uvicorn.error", "Started server process [42]"),
        ("fubble.billing", "billed"),
    ]
    logging.config.dictConfig(logs.log_config("text", access_log=True))
    logging.getLogger("fubble.access").info("GET / 200")
    assert capsys.readouterr().err.endswith(" INFO    fubble.access: GET / 200\n")
