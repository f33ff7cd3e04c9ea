"""Streaming import of usage events from an NDJSON or CSV file (``fubble events import FILE``).

The file is read line by line (memory stays bounded by one batch, plus one counter per distinct event without an
``event_id``), and each batch of events is stored through the same service as ``POST /events/batch`` in its own
transaction: all of the batch or none of it. Every line (a CSV row as the JSON object of its cells) is decoded by
:mod:`fubble.events.decoder`, the one definition of a valid event, so its errors are those of ``POST /events/``.

Idempotent by content: an event without ``event_id`` gets ``import:<time>:<fingerprint>:<n>``, from the canonical
form of the event alone (:func:`~fubble.events.fingerprint.fingerprint`: ``{"a":1}`` and ``{"a": 1.0}`` are the same
event) and ``n``, how many identical events without ``event_id`` came before it in the file (so two identical lines
stay two events). Importing the file again, or an edited copy, adds exactly the events that are new or changed; an
event whose line was changed is a new event, and the old one stays (nothing tells a correction from a new event).

Resumable: after each committed batch, ``FILE.fubble-import.json`` records the byte offset and line number of the
next unread line and a hash of the file's first MiB up to that offset. A re-run continues from there (re-reading the
lines before it to count identical events, without storing them), even if lines after the offset were edited, e.g. to
fix a bad one; a file changed before the offset is refused (``--restart`` imports it from line 1, adding only new
or changed events). ``restart=True`` ignores the checkpoint. The checkpoint is removed when the import completes.

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

import msgspec

from fubble.api.routing import is_retryable
from fubble.clock import Clock
from fubble.db.session import Database
from fubble.errors import FubbleError, InvalidInput
from fubble.events.batch_store import record_parsed_batch
from fubble.events.csv_rows import csv_event, header_problem
from fubble.events.decoder import Malformed, ParsedEvent, decode_line, reasons
from fubble.events.fingerprint import fingerprint

ACTOR = "cli import"
FORMATS = ("ndjson", "csv")
HEAD_BYTES = 1 << 20
MAX_LINE_BYTES = 1 << 20
CHECKPOINT_SUFFIX = ".fubble-import.json"
CHECKPOINT_VERSION = 2  # 1: ids derived from the file's first MiB (refused: its ids are not those of this version)
_RETRIES = 5
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
    event: ParsedEvent | None  # None for a blank line (and for a CSV row, see _csv_rows)
    problem: str | None = None
    cells: list[str] | None = None  # a CSV row's cells (None for a blank line)


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
    offset, line = 0, 1
    if restart:
        checkpoint.unlink(missing_ok=True)
    elif checkpoint.exists():
        offset, line = _resume(path, checkpoint, fmt)
        summary.resumed_at_line = line
    ids = _DerivedIds()
    with path.open("rb") as stream:
        header = _csv_header(stream) if fmt == "csv" else None
        if offset:  # the events before it were stored: count them again, to number identical events alike
            stream.seek(0)
            for record in _records(stream, header, 0, 1):
                if record.line >= line:
                    break
                if record.event is not None:
                    ids.of(record.event)
        stream.seek(offset)
        batch: list[ParsedEvent] = []
        lines: list[int] = []
        for record in _records(stream, header, offset, line):
            if record.problem is not None:
                raise ImportFailed([LineProblem(record.line, record.problem)], _failed(summary, 1), line)
            event = record.event
            if event is not None:
                batch.append(ids.of(event))
                lines.append(record.line)
            if len(batch) >= batch_size:
                _commit(database, batch, lines, clock, summary, line)
                offset, line = record.end, record.line + 1
                _save_checkpoint(path, checkpoint, fmt, offset, line)
                batch, lines = [], []
                if progress is not None:
                    progress(offset, summary.events)
        if batch:
            _commit(database, batch, lines, clock, summary, line)
    checkpoint.unlink(missing_ok=True)
    if progress is not None:
        progress(path.stat().st_size, summary.events)
    return summary


class _DerivedIds:
    """The ``event_id`` of events sent without one: ``import:<time>:<fingerprint>:<n>``, ``n`` counting the identical
    events before it in the file (one counter per distinct event, a 64-bit key: about 100 bytes each). ``<time>`` is
    the event's own ``event_time`` (empty without one): part of the event already, it keeps the ids of a file in time
    order close together in the ``event_id`` index (random ids made a 1,000,000-line import half as fast)."""

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}

    def of(self, event: ParsedEvent) -> ParsedEvent:
        if event.event_id is not None:
            return event
        digest = fingerprint(event)
        key = int(digest[:16], 16)
        occurrence = self._seen.get(key, 0) + 1
        self._seen[key] = occurrence
        at = "" if event.event_time is None else event.event_time.isoformat()  # in UTC
        event_id = "import:" + at + ":" + digest[:20] + ":" + str(occurrence)  # 80 bits, beside the time
        return ParsedEvent(*event[:6], event_id)  # (cheaper than _replace)


def _records(stream: IO[bytes], header: list[str] | None, offset: int, line: int) -> Iterator[_Record]:
    return _csv_records(stream, header, offset, line) if header else _ndjson_records(stream, offset, line)


def _failed(summary: Summary, errors: int) -> Summary:
    summary.errors = errors
    return summary


def _commit(
    database: Database,
    batch: list[ParsedEvent],
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
                result = record_parsed_batch(session, batch, clock=clock)
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
        if not text.strip():
            yield _Record(number, end, None)
            continue
        record = _decoded(number, end, raw.removeprefix(b"\xef\xbb\xbf") if offset == 0 else raw)
        yield record
        if record.problem is not None:
            return


def _decoded(number: int, end: int, raw: bytes) -> _Record:
    """The record of one event as JSON bytes, decoded like ``POST /events/`` decodes its body."""
    try:
        outcome = decode_line(raw)
    except Malformed as exc:
        return _Record(number, end, None, str(exc))
    if isinstance(outcome, ParsedEvent):
        return _Record(number, end, outcome)
    return _Record(number, end, None, "; ".join(reasons(outcome)))


def _csv_header(stream: IO[bytes]) -> list[str]:
    stream.seek(0)
    for record in _csv_rows(stream, 0, 1):
        if record.problem is not None:
            raise ImportFailed([LineProblem(record.line, record.problem)], _failed(Summary(), 1))
        if record.cells is None:
            continue
        columns = [c.strip() for c in record.cells]
        problem = header_problem(columns)
        if problem is not None:
            raise ImportFailed([LineProblem(record.line, problem)], _failed(Summary(), 1))
        return columns
    raise ImportFailed([LineProblem(1, "the CSV file has no header line")], _failed(Summary(), 1))


def _csv_rows(stream: IO[bytes], offset: int, line: int) -> Iterator[_Record]:
    """Records with their ``cells``; a quoted cell may span lines (the record's line is its first)."""
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
        yield _Record(first, end, None, cells=rows[0] if rows else [])
    if pending:
        yield _Record(first, offset, None, "unterminated quoted cell at the end of the file")


def _csv_records(stream: IO[bytes], header: list[str], offset: int, line: int) -> Iterator[_Record]:
    if offset == 0:  # skip the header line(s)
        for record in _csv_rows(stream, 0, 1):
            if record.cells is not None:
                offset, line = record.end, record.line + 1
                break
        stream.seek(offset)
    for record in _csv_rows(stream, offset, line):
        if record.cells is None or record.problem is not None:
            yield record
            if record.problem is not None:
                return
            continue
        event, problem = csv_event(header, record.cells)
        decoded = (
            _Record(record.line, record.end, None, problem)
            if event is None
            else _decoded(record.line, record.end, _JSON.encode(event))
        )
        yield decoded
        if decoded.problem is not None:
            return


_JSON = msgspec.json.Encoder(decimal_format="number")


# --- checkpoints --------------------------------------------------------------------------------------------------


def _head_hash(path: Path, upto: int) -> str:
    with path.open("rb") as stream:
        return hashlib.sha256(stream.read(min(upto, HEAD_BYTES))).hexdigest()


def _save_checkpoint(path: Path, checkpoint: Path, fmt: str, offset: int, line: int) -> None:
    state = {
        "version": CHECKPOINT_VERSION,
        "format": fmt,
        "offset": offset,
        "line": line,
        "head": _head_hash(path, offset),
    }
    temporary = checkpoint.with_name(checkpoint.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(state, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, checkpoint)


def _resume(path: Path, checkpoint: Path, fmt: str) -> tuple[int, int]:
    """``(offset, line)`` to continue from; refuses a checkpoint that does not fit the file."""

    def refuse(reason: str) -> ImportFailed:
        return ImportFailed(
            [LineProblem(1, f"{reason}; run again with --restart to import the whole file ({checkpoint.name})")],
            _failed(Summary(), 1),
        )

    try:
        state = json.loads(checkpoint.read_text(encoding="utf-8"))
        version, offset, line = state["version"], int(state["offset"]), int(state["line"])
        head, saved_format = str(state["head"]), state["format"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise refuse(f"the checkpoint is unreadable ({exc})") from exc
    if version != CHECKPOINT_VERSION:
        raise refuse("the checkpoint was written by an older fubble, whose ids were derived otherwise")
    if saved_format != fmt:
        raise refuse(f"the checkpoint is of a {saved_format} import, not {fmt}")
    if offset < 0 or line < 1 or offset > path.stat().st_size or _head_hash(path, offset) != head:
        raise refuse(f"the file changed before line {line}, where the interrupted import stopped")
    return offset, line
