"""Streaming import of usage events from an NDJSON or CSV file (``fubble events import FILE``).

The file is read line by line (memory stays bounded by one batch), and each batch of events is stored through the
same service as ``POST /events/batch`` in its own transaction: all of the batch or none of it. An NDJSON line goes
through the decoder of the HTTP fast path (:mod:`fubble.events.decoder`, straight from bytes) when that is certain of
it, and through the JSON parser and ``EventIn`` otherwise, so every error message stays that of ``POST /events/batch``.

Idempotent: an event without ``event_id`` gets ``import:<file key>:<line>``, where the file key is
``sha256(first 1 MiB of the file + its size)[:16]``, so importing the same file again stores nothing new (every event
is a duplicate of itself). Give events your own ``event_id`` if you need edits of a file to stay idempotent.

Resumable: after each committed batch, ``FILE.fubble-import.json`` records the byte offset and line number of the
next unread line, the file key, and a hash of the file's first MiB up to that offset. A re-run continues from there
(with the same file key, even if lines after the offset were edited, e.g. to fix a bad one); a file changed before the
offset is refused. ``restart=True`` ignores the checkpoint. The checkpoint is removed when the import completes.

A bad line stops the import: the batches before it are committed, its own batch is not, and the checkpoint points at
that batch's start, so fixing the line and running the same command again continues without duplicates.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fubble.api.json import loads
from fubble.api.routing import is_retryable
from fubble.clock import Clock
from fubble.db.session import Database
from fubble.errors import FubbleError, InvalidInput
from fubble.events.decoder import decode_event
from fubble.events.fast import ParsedEvent
from fubble.events.service import record_batch

ACTOR = "cli import"
FORMATS = ("ndjson", "csv")
HEAD_BYTES = 1 << 20
MAX_LINE_BYTES = 1 << 20
CHECKPOINT_SUFFIX = ".fubble-import.json"
_RETRIES = 5
_COLUMNS = {"event_id", "customer_id", "external_customer_id", "metric_name", "quantity", "event_time", "properties"}
_PROPERTY_PREFIX = "properties."
_UNREADABLE = f"not UTF-8 text, or longer than {MAX_LINE_BYTES} bytes"


@dataclass(frozen=True)
class LineProblem:
    line: int
    reason: str


@dataclass
class Summary:
    accepted: int = 0
    duplicates: int = 0
    errors: int = 0
    events: int = 0  # events read and committed in this run
    resumed_at_line: int | None = None  # the line this run started at, when it resumed from a checkpoint


class ImportFailed(Exception):
    """The file cannot be imported (as a whole, or from a bad line on)."""

    def __init__(self, problems: list[LineProblem], summary: Summary, next_line: int | None = None) -> None:
        super().__init__("; ".join(f"line {p.line}: {p.reason}" for p in problems[:3]))
        self.problems = problems
        self.summary = summary
        self.next_line = next_line  # where a re-run continues (None when nothing can be resumed)


@dataclass(frozen=True)
class _Record:
    line: int
    end: int  # byte offset just after this record
    event: dict[str, Any] | ParsedEvent | None  # as parsed JSON, or checked by the decoder; None for a blank line
    problem: str | None = None


Progress = Callable[[int, int], None]  # (bytes done, events done in this run)


def format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise InvalidInput(f"unknown format {fmt!r}: use ndjson or csv")
        return fmt
    suffix = path.suffix.lower()
    if suffix in {".ndjson", ".jsonl", ".json"}:
        return "ndjson"
    if suffix == ".csv":
        return "csv"
    raise InvalidInput(f"cannot tell the format of {path.name!r} from its extension: pass --format ndjson or csv")


def checkpoint_path(path: Path) -> Path:
    return path.with_name(path.name + CHECKPOINT_SUFFIX)


def import_events(
    database: Database,
    path: Path,
    *,
    clock: Clock,
    fmt: str | None = None,
    batch_size: int = 5000,
    restart: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Import every event of ``path``; raises :class:`ImportFailed` at the first bad line or batch."""
    fmt = format_of(path, fmt)
    checkpoint = checkpoint_path(path)
    summary = Summary()
    key, offset, line = _file_key(path), 0, 1
    if restart:
        checkpoint.unlink(missing_ok=True)
    elif checkpoint.exists():
        key, offset, line = _resume(path, checkpoint, fmt)
        summary.resumed_at_line = line
    with path.open("rb") as stream:
        header = _csv_header(stream) if fmt == "csv" else None
        stream.seek(offset)
        records = _csv_records(stream, header, offset, line) if header else _ndjson_records(stream, offset, line)
        batch: list[dict[str, Any] | ParsedEvent] = []
        lines: list[int] = []
        for record in records:
            if record.problem is not None:
                raise ImportFailed([LineProblem(record.line, record.problem)], _failed(summary, 1), line)
            event = record.event
            if event is not None:
                if isinstance(event, ParsedEvent):
                    if event.event_id is None:
                        event = event._replace(event_id=f"import:{key}:{record.line}")
                elif event.setdefault("event_id", None) is None:
                    event["event_id"] = f"import:{key}:{record.line}"
                batch.append(event)
                lines.append(record.line)
            if len(batch) >= batch_size:
                _commit(database, batch, lines, clock, summary, line)
                offset, line = record.end, record.line + 1
                _save_checkpoint(path, checkpoint, fmt, key, offset, line)
                batch, lines = [], []
                if progress is not None:
                    progress(offset, summary.events)
        if batch:
            _commit(database, batch, lines, clock, summary, line)
    checkpoint.unlink(missing_ok=True)
    if progress is not None:
        progress(path.stat().st_size, summary.events)
    return summary


def _failed(summary: Summary, errors: int) -> Summary:
    summary.errors = errors
    return summary


def _commit(
    database: Database,
    batch: list[dict[str, Any] | ParsedEvent],
    lines: list[int],
    clock: Clock,
    summary: Summary,
    start: int,
) -> None:
    attempt = 0
    while True:
        try:
            with database.transaction() as session:
                session.info["actor"] = ACTOR
                result = record_batch(session, batch, clock=clock, max_events=len(batch))
            break
        except InvalidInput as exc:
            raise ImportFailed(_problems(exc.detail, lines), _failed(summary, _error_count(exc.detail)), start) from exc
        except FubbleError as exc:  # e.g. a conflicting event_id stored concurrently
            where = f"lines {lines[0]}-{lines[-1]}" if len(lines) > 1 else f"line {lines[0]}"
            problem = LineProblem(lines[0], f"{exc.detail} ({where})")
            raise ImportFailed([problem], _failed(summary, 1), start) from exc
        except Exception as exc:
            if attempt < _RETRIES and is_retryable(exc):
                attempt += 1
                time.sleep(0.05 * 2**attempt)
                continue
            raise
    summary.accepted += result.accepted
    summary.duplicates += result.duplicates
    summary.events += len(batch)


def _problems(detail: Any, lines: list[int]) -> list[LineProblem]:
    if isinstance(detail, dict) and isinstance(detail.get("errors"), list):
        return [LineProblem(lines[e["index"]], str(e["reason"])) for e in detail["errors"]]
    if isinstance(detail, list):  # {"loc": ..., "msg": ...} entries about the batch as a whole
        return [LineProblem(lines[0], str(e.get("msg", e))) for e in detail]
    return [LineProblem(lines[0], str(detail))]


def _error_count(detail: Any) -> int:
    if isinstance(detail, dict) and isinstance(detail.get("errors"), list):
        return len(detail["errors"])
    return 1


# --- reading ------------------------------------------------------------------------------------------------------


def _physical_lines(stream: IO[bytes], offset: int, line: int) -> Iterator[tuple[int, int, bytes, str | None]]:
    """``(line number, end offset, bytes, text or None if undecodable/too long)`` of each line from ``offset`` on."""
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES:
            yield line, offset + len(raw), raw, None
            return
        text: str | None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and offset == 0:
            text = text.removeprefix("\ufeff")
        offset += len(raw)
        yield line, offset, raw, text
        line += 1


def _ndjson_records(stream: IO[bytes], offset: int, line: int) -> Iterator[_Record]:
    for number, end, raw, text in _physical_lines(stream, offset, line):
        if text is None:
            yield _Record(number, end, None, _UNREADABLE)
            return
        event = decode_event(raw)  # the common line, checked exactly like EventIn (None: ask the parser and EventIn)
        if event is not None:
            yield _Record(number, end, event)
            continue
        if not text.strip():
            yield _Record(number, end, None)
            continue
        try:
            value = loads(text)
        except (json.JSONDecodeError, ValueError) as exc:
            yield _Record(number, end, None, f"invalid JSON: {exc}")
            return
        if not isinstance(value, dict):
            yield _Record(number, end, None, "must be a JSON object (one event per line)")
            return
        yield _Record(number, end, value)


def _csv_header(stream: IO[bytes]) -> list[str]:
    stream.seek(0)
    for record in _csv_rows(stream, 0, 1):
        if record.problem is not None:
            raise ImportFailed([LineProblem(record.line, record.problem)], _failed(Summary(), 1))
        if record.event is None:
            continue
        columns = [c.strip() for c in _cells(record)]
        problem = _header_problem(columns)
        if problem is not None:
            raise ImportFailed([LineProblem(record.line, problem)], _failed(Summary(), 1))
        return columns
    raise ImportFailed([LineProblem(1, "the CSV file has no header line")], _failed(Summary(), 1))


def _header_problem(columns: list[str]) -> str | None:
    for column in columns:
        if column not in _COLUMNS and not (column.startswith(_PROPERTY_PREFIX) and len(column) > len(_PROPERTY_PREFIX)):
            return f"unknown column {column!r}: use {', '.join(sorted(_COLUMNS))} or properties.<name>"
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        return f"repeated column(s): {', '.join(repeated)}"
    missing = [c for c in ("metric_name", "quantity") if c not in columns]
    if "customer_id" not in columns and "external_customer_id" not in columns:
        missing.append("customer_id or external_customer_id")
    return f"missing column(s): {', '.join(missing)}" if missing else None


def _cells(row: _Record) -> list[str]:
    """The cells of a record of :func:`_csv_rows`."""
    assert isinstance(row.event, dict)
    cells: list[str] = row.event["row"]
    return cells


def _csv_rows(stream: IO[bytes], offset: int, line: int) -> Iterator[_Record]:
    """Records as ``{"row": [cells]}``; a quoted cell may span lines (the record's line is its first)."""
    pending: list[str] = []
    size = quotes = 0
    first = line
    for number, end, _raw, text in _physical_lines(stream, offset, line):
        if text is None:
            yield _Record(first if pending else number, end, None, _UNREADABLE)
            return
        if not pending:
            first, size, quotes = number, 0, 0
        pending.append(text)
        size += len(text)
        quotes += text.count('"')
        if quotes % 2:  # inside a quoted cell: the record goes on
            if size > MAX_LINE_BYTES:
                yield _Record(first, end, None, f"a quoted cell is never closed within {MAX_LINE_BYTES} bytes")
                return
            continue
        joined = "".join(pending)
        pending = []
        if not joined.strip():
            yield _Record(first, end, None)
            continue
        try:
            rows = list(csv.reader(io.StringIO(joined, newline=""), strict=True))
        except csv.Error as exc:
            yield _Record(first, end, None, f"invalid CSV: {exc}")
            return
        yield _Record(first, end, {"row": rows[0] if rows else []})
    if pending:
        yield _Record(first, offset, None, "unterminated quoted cell at the end of the file")


def _csv_records(stream: IO[bytes], header: list[str], offset: int, line: int) -> Iterator[_Record]:
    if offset == 0:  # skip the header line(s)
        for record in _csv_rows(stream, 0, 1):
            if record.event is not None:
                offset, line = record.end, record.line + 1
                break
        stream.seek(offset)
    for record in _csv_rows(stream, offset, line):
        if record.event is None or record.problem is not None:
            yield record
            if record.problem is not None:
                return
            continue
        event, problem = _csv_event(header, _cells(record))
        yield _Record(record.line, record.end, event, problem)
        if problem is not None:
            return


def _csv_event(header: list[str], cells: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    if len(cells) != len(header):
        return None, f"has {len(cells)} cells, the header has {len(header)}"
    event: dict[str, Any] = {}
    named: dict[str, str] = {}
    for column, cell in zip(header, cells, strict=True):
        if cell == "":
            continue
        if column.startswith(_PROPERTY_PREFIX):
            named[column[len(_PROPERTY_PREFIX) :]] = cell
        elif column == "properties":
            try:
                value = loads(cell)
            except (json.JSONDecodeError, ValueError) as exc:
                return None, f"properties: invalid JSON: {exc}"
            if not isinstance(value, dict):
                return None, "properties: must be a JSON object"
            event["properties"] = value
        else:
            event[column] = cell
    if named:
        properties = event.setdefault("properties", {})
        both = sorted(set(named) & set(properties))
        if both:
            return None, f"property {both[0]!r} is both in the properties column and a properties.<name> column"
        properties.update(named)
    return event, None


# --- checkpoints --------------------------------------------------------------------------------------------------


def _head_hash(path: Path, upto: int) -> str:
    with path.open("rb") as stream:
        return hashlib.sha256(stream.read(min(upto, HEAD_BYTES))).hexdigest()


def _file_key(path: Path) -> str:
    with path.open("rb") as stream:
        head = stream.read(HEAD_BYTES)
    return hashlib.sha256(head + str(path.stat().st_size).encode()).hexdigest()[:16]


def _save_checkpoint(path: Path, checkpoint: Path, fmt: str, key: str, offset: int, line: int) -> None:
    state = {"version": 1, "format": fmt, "key": key, "offset": offset, "line": line, "head": _head_hash(path, offset)}
    temporary = checkpoint.with_name(checkpoint.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(state, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, checkpoint)


def _resume(path: Path, checkpoint: Path, fmt: str) -> tuple[str, int, int]:
    """``(file key, offset, line)`` to continue from; refuses a checkpoint that does not fit the file."""

    def refuse(reason: str) -> ImportFailed:
        return ImportFailed(
            [LineProblem(1, f"{reason}; run again with --restart to import the whole file ({checkpoint.name})")],
            _failed(Summary(), 1),
        )

    try:
        state = json.loads(checkpoint.read_text(encoding="utf-8"))
        key, offset, line = str(state["key"]), int(state["offset"]), int(state["line"])
        head, saved_format = str(state["head"]), state["format"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise refuse(f"the checkpoint is unreadable ({exc})") from exc
    if saved_format != fmt:
        raise refuse(f"the checkpoint is of a {saved_format} import, not {fmt}")
    if offset < 0 or line < 1 or offset > path.stat().st_size or _head_hash(path, offset) != head:
        raise refuse(f"the file changed before line {line}, where the interrupted import stopped")
    return key, offset, line


# --- the command line ---------------------------------------------------------------------------------------------


def run(
    url: str,
    path: Path,
    *,
    clock: Clock,
    fmt: str | None,
    batch_size: int,
    restart: bool,
    echo: Callable[[str, bool], None],
) -> int:
    """``fubble events import``: import with a progress bar (on stderr), print a summary; the exit status."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    if not restart and checkpoint_path(path).exists():
        echo(f"resuming from the checkpoint {checkpoint_path(path).name} (--restart ignores it)", True)
    database = Database(url)
    started = time.monotonic_ns()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[events]:,} events, {task.fields[rate]} events/s"),
        TimeRemainingColumn(),
    )
    summary: Summary | None = None
    try:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(f"importing {path.name}", total=max(path.stat().st_size, 1), events=0, rate="0")

            def on_progress(done: int, events: int) -> None:
                bar.update(task, completed=done, events=events, rate=f"{_per_second(events, _elapsed_ns(started)):,}")

            summary = import_events(
                database, path, clock=clock, fmt=fmt, batch_size=batch_size, restart=restart, progress=on_progress
            )
    except ImportFailed as failure:
        for problem in failure.problems[:20]:
            echo(f"line {problem.line}: {problem.reason}", True)
        if len(failure.problems) > 20:
            echo(f"... and {len(failure.problems) - 20} more bad lines", True)
        echo(_summary_line(failure.summary, started), True)
        if failure.next_line is not None:
            echo(
                f"nothing from line {failure.next_line} on was stored: fix the file and run the same command again "
                f"to continue from line {failure.next_line}",
                True,
            )
        return 2
    except FubbleError as exc:
        echo(f"error: {exc.detail}", True)
        return 2
    finally:
        database.dispose()
    echo(_summary_line(summary, started), False)
    return 0


def _summary_line(summary: Summary, started_ns: int) -> str:
    elapsed = _elapsed_ns(started_ns)
    resumed = f", resumed at line {summary.resumed_at_line}" if summary.resumed_at_line is not None else ""
    tenths = elapsed // 100_000_000
    return (
        f"accepted {summary.accepted}, duplicates {summary.duplicates}, errors {summary.errors} "
        f"({summary.events} events in {tenths // 10}.{tenths % 10}s, "
        f"{_per_second(summary.events, elapsed):,} events/s{resumed})"
    )


def _elapsed_ns(started_ns: int) -> int:
    """Nanoseconds since ``started_ns`` (a ``time.monotonic_ns()``), at least 1 (integers: no float anywhere)."""
    return max(time.monotonic_ns() - started_ns, 1)


def _per_second(count: int, elapsed_ns: int) -> int:
    """``count`` per second over ``elapsed_ns``, rounded half up."""
    return (count * 1_000_000_000 + elapsed_ns // 2) // elapsed_ns
