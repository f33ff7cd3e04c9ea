"""How the ``fubble`` command speaks to people: errors as sentences, exit statuses, aligned tables, plain help.

Exit statuses: :data:`OK` (0) success, :data:`REFUSED` (1) the service or the input refused what was asked,
:data:`USAGE` (2) the command line itself is wrong (click's own usage errors exit with 2 too).
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from fubble.config import Settings, get_settings
from fubble.db.types import to_utc

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from fubble.errors import FubbleError

OK, REFUSED, USAGE = 0, 1, 2
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # every time the CLI prints is UTC, in this one format

# --- errors as sentences --------------------------------------------------------------------------------------------

_LOCATION_ROOTS = {"body", "query", "path", "header"}


def sentence(detail: Any, names: Mapping[str, str] | None = None) -> str:
    """An error's ``detail`` (a message, pydantic-style ``[{"loc": [...], "msg": ...}]`` entries, or a batch's
    ``{"errors": [{"index": ..., "reason": ...}]}``) as text for a person, one problem per line: ``field: what is
    wrong``. ``names`` renames the service's field names to the command's own (``{"end_date": "--end"}``)."""
    names = names or {}
    if isinstance(detail, str):
        return _rename(detail, names)
    if isinstance(detail, Mapping):
        if isinstance(detail.get("errors"), list):
            return "\n".join(
                f"event {e.get('index', '?')}: {sentence(e.get('reason'), names)}" for e in detail["errors"]
            )
        return "\n".join(f"{_rename(str(k), names)}: {sentence(v, names)}" for k, v in detail.items())
    if isinstance(detail, list | tuple):
        return "\n".join(_entry(e, names) for e in detail) or "invalid input"
    return _rename(str(detail), names)


def _entry(entry: Any, names: Mapping[str, str]) -> str:
    if not isinstance(entry, Mapping) or "msg" not in entry:
        return sentence(entry, names)
    loc = [str(part) for part in entry.get("loc") or ()]
    if loc and loc[0] in _LOCATION_ROOTS:
        loc = loc[1:]
    field = names.get(".".join(loc), ".".join(loc))
    message = _rename(str(entry["msg"]).removeprefix("Value error, "), names)
    if not field or message.startswith(field):
        return message
    return f"{field}: {message}"


def _rename(text: str, names: Mapping[str, str]) -> str:
    for name, shown in names.items():
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?!\w)", shown, text)
    return text


def fail(message: str, status: int = REFUSED) -> NoReturn:
    """Print ``error: MESSAGE`` on stderr and exit with ``status`` (1 unless told)."""
    lines = message.splitlines() or [""]
    typer.echo(f"error: {lines[0]}", err=True)
    for line in lines[1:]:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(status)


def refuse(error: FubbleError, names: Mapping[str, str] | None = None) -> NoReturn:
    fail(sentence(error.detail, names))


def settings() -> Settings:
    """The settings, or a sentence naming the bad FUBBLE_* variable."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        problems = [{"loc": [f"FUBBLE_{'.'.join(map(str, e['loc'])).upper()}"], "msg": e["msg"]} for e in exc.errors()]
        fail(sentence(problems))


@contextlib.contextmanager
def session(
    url: str | None = None, *, actor: str = "cli", names: Mapping[str, str] | None = None, write: bool = True
) -> Iterator[Session]:
    """A write transaction for a command (on FUBBLE_DATABASE_URL unless ``url`` is given); with ``write=False``, a
    read-only one that sees one snapshot throughout (and takes no SQLite write lock). A fubble error rolls it back
    and ends the command with its sentence and exit status 1; so does a database that cannot be reached or has no
    schema yet."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from fubble.db.session import Database, snapshot
    from fubble.errors import FubbleError

    url = url or settings().database_url
    try:
        database = Database(url)
    except ValueError as exc:
        fail(f"FUBBLE_DATABASE_URL: {exc}")
    try:
        if write:
            with database.transaction() as active:
                active.info["actor"] = actor
                yield active
        else:
            with database.session(write=False) as active, snapshot(active):
                yield active
    except FubbleError as exc:
        refuse(exc, names)
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        fail(
            f"cannot use the database at {describe_database(url)}: {reason}\n"
            "(is the database server running, and has `fubble db upgrade` created the schema?)"
        )
    finally:
        database.dispose()


def migrate(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema; a database that cannot be reached ends the command with a sentence."""
    from sqlalchemy.exc import OperationalError

    from fubble.db.migrate import upgrade

    try:
        upgrade(url, revision)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        fail(f"cannot reach the database at {describe_database(url)}: {reason}")
    except ValueError as exc:
        fail(f"FUBBLE_DATABASE_URL: {exc}")


def describe_database(url: str) -> str:
    """``SQLite ./fubble.db`` or ``PostgreSQL postgresql+psycopg://user:***@host/db`` (never a password)."""
    from sqlalchemy.engine import make_url

    from fubble.db.session import normalize_url

    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite {parsed.database}"
    return f"PostgreSQL {parsed.render_as_string(hide_password=True)}"


# --- tables ---------------------------------------------------------------------------------------------------------


def console() -> Console:
    """Standard output for tables: as wide as the terminal, or unbounded when piped (no row is wrapped or cut)."""
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=100_000)
    return out


def table(*columns: str, right: tuple[str, ...] = ()) -> Table:
    """An aligned table with a header line and no borders (easy to read and to grep)."""
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        grid.add_column(column, justify="right" if column in right else "left", no_wrap=True)
    return grid


def when(value: datetime | None) -> str:
    return "-" if value is None else to_utc(value).strftime(TIME_FORMAT)


# --- plain help: `--port PORT`, `NAME`, no `<int>`, `<bool>` or `{name}` ------------------------------------------


class _PlainOption(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        return self.metavar or str(self.name).upper()

    def _get_number_range_help_str(self) -> str | None:
        return None  # the help text says it in words


class _PlainArgument(TyperArgument):
    @property
    def display_name_raw(self) -> str:
        return self.metavar or str(self.name).upper()

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name if self.nargs == 1 else f"{name}..."

    def _get_number_range_help_str(self) -> str | None:
        return None


def _plain(command: Any) -> None:
    if command.help:  # a docstring's paragraphs, each rewrapped to the terminal's width rather than at its line ends
        text = inspect.cleandoc(command.help)
        command.help = "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", text))
    for param in command.params:
        if type(param) is TyperOption:
            param.__class__ = _PlainOption
        elif type(param) is TyperArgument:
            param.__class__ = _PlainArgument


class _PlainHelp:
    """Plain metavars for a command's own parameters and its ``--help`` option (mixed into a click command class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain(self)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if type(option) is TyperOption:
            option.__class__ = _PlainOption
        return option


class PlainCommand(_PlainHelp, TyperCommand):
    """A command whose help shows plain metavars (``--port PORT``, ``NAME``)."""


class PlainGroup(_PlainHelp, TyperGroup):
    """A command group whose help shows plain metavars, like :class:`PlainCommand`."""
