"""``fubble events import``: import a file of usage events with a progress bar, a summary, and bad lines named."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fubble.cli import events_app
from fubble.cli.output import REFUSED, PlainCommand, fail, sentence, settings

if TYPE_CHECKING:
    from fubble.events.importer import Summary

SHOWN_PROBLEMS = 20


@events_app.command("import", cls=PlainCommand)
def events_import(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", exists=True, dir_okay=False, readable=True, help="NDJSON or CSV file."),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", metavar="FORMAT", help="ndjson or csv (default: from the extension .ndjson/.jsonl/.csv)."
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, metavar="N", help="Events per transaction (1 to 100,000).")
    ] = 5000,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore a checkpoint and import from line 1.")] = False,
) -> None:
    """Import usage events from FILE in all-or-nothing batches, like POST /events/batch.

    NDJSON: one event object per line (the fields of POST /events/). CSV: a header line naming the columns
    event_id, customer_id or external_customer_id, metric_name, quantity, event_time (ISO 8601), and optionally
    properties (a JSON object) and/or properties.NAME columns (each a string property NAME). Empty cells are
    left out.

    Idempotent: an event without event_id gets one derived from its content and from how many identical events came
    before it in the file, so importing the file again adds nothing, and an edited file adds only its new or changed
    events (a changed line's old event stays). Resumable: after each batch, FILE.fubble-import.json records where to
    continue; running the command again resumes there (--restart ignores it). A bad line stops the import with exit
    status 1, printing its line number and reason; earlier batches stay stored, so fix the line and run it again.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    from fubble.clock import SystemClock
    from fubble.db.session import Database
    from fubble.errors import FubbleError
    from fubble.events.importer import ImportFailed, checkpoint_path, import_events

    if not restart and checkpoint_path(file).exists():
        typer.echo(f"resuming from the checkpoint {checkpoint_path(file).name} (--restart ignores it)", err=True)
    database = Database(settings().database_url)
    started = time.monotonic_ns()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[events]:,} events, {task.fields[rate]} events/s"),
        TimeRemainingColumn(),
    )
    err = Console(stderr=True)
    try:
        with Progress(*columns, console=err, disable=not err.is_terminal) as bar:  # no bar in a log file
            task = bar.add_task(f"importing {file.name}", total=max(file.stat().st_size, 1), events=0, rate="0")

            def on_progress(done: int, events: int) -> None:
                bar.update(task, completed=done, events=events, rate=f"{_per_second(events, _elapsed_ns(started)):,}")

            summary = import_events(
                database, file, clock=SystemClock(), fmt=fmt, batch_size=batch_size, restart=restart,
                progress=on_progress,
            )  # fmt: skip
    except ImportFailed as failure:
        for problem in failure.problems[:SHOWN_PROBLEMS]:
            typer.echo(f"error: line {problem.line}: {sentence(problem.reason)}", err=True)
        if len(failure.problems) > SHOWN_PROBLEMS:
            typer.echo(f"... and {len(failure.problems) - SHOWN_PROBLEMS} more bad lines", err=True)
        typer.echo(_summary_line(failure.summary, started), err=True)
        if failure.next_line is not None:
            typer.echo(
                f"nothing from line {failure.next_line} on was stored: fix the file and run the same command again "
                f"to continue from line {failure.next_line}",
                err=True,
            )
        raise typer.Exit(REFUSED) from failure
    except FubbleError as exc:
        fail(sentence(exc.detail))
    finally:
        database.dispose()
    typer.echo(_summary_line(summary, started))


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
