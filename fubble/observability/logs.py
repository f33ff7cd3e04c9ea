"""Logs as ``fubble serve`` writes them to stderr: one JSON object per line for machines, readable lines for people.

``FUBBLE_LOG_FORMAT`` chooses: ``json``, ``text``, or ``auto`` (the default: text when stderr is a terminal, JSON
otherwise). A JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id`` (while a
request is served, see :mod:`fubble.observability.request_id`), the record's extra fields (the access log's
``method``, ``path``, ``status``, ``duration_ms``, ``client``) and ``exception`` (a traceback) if any. A text line
holds the same, the extra fields as ``key=value``.

:func:`log_config` is a :func:`logging.config.dictConfig` configuration: ``fubble serve`` applies it, and hands it
to uvicorn, which applies it again in each worker process; uvicorn's own loggers write through the same handler.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec

from fubble.observability import request_id

# The attributes every LogRecord has; any other attribute came from ``extra=`` and is written as a field.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
# uvicorn's coloured copy of its message, and the id our filter adds (written in its own place).
_SKIPPED = frozenset({"color_message", "request_id"})
_JSON = msgspec.json.Encoder(enc_hook=str)  # a value JSON has no type for is written as its str()


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request being served (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.current.get()
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k not in _SKIPPED}


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JSONFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in _fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return _JSON.encode(entry).decode()


class TextFormatter(logging.Formatter):
    """``2024-01-15 12:00:00.000 INFO fubble.access: GET /health 200 1.2ms request_id=... status=200 ...``"""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_time(record)[:-1].replace('T', ' ')} {record.levelname:<7} {record.name}: {record.getMessage()}"
        rid = getattr(record, "request_id", None)
        fields = _fields(record)
        extras = ([f"request_id={rid}"] if rid else []) + [f"{k}={v}" for k, v in fields.items() if v is not None]
        if extras:
            line += "  " + " ".join(extras)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            line += "\n" + record.exc_text
        return line


FORMATS = ("auto", "json", "text")


def chosen_format(setting: str, stream: TextIO | None = None) -> str:
    """``json`` or ``text`` for the ``FUBBLE_LOG_FORMAT`` setting (``auto``: text on a terminal)."""
    if setting != "auto":
        return setting
    stream = stream or sys.stderr
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # closed or not a real stream
        return "json"


def log_config(fmt: str, *, access_log: bool, level: str = "INFO") -> dict[str, Any]:
    """The :func:`logging.config.dictConfig` configuration of a server: everything to stderr through one handler
    formatted as ``fmt`` (``json`` or ``text``); fubble's and uvicorn's loggers at ``level``, others at WARNING;
    fubble's access log (``fubble.access``) on if ``access_log`` (uvicorn's own stays off: fubble's has the duration
    and the request id)."""
    formatter = JSONFormatter if fmt == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"fubble": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "fubble",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "fubble": {"level": level},
            "fubble.access": {"level": "INFO" if access_log else "WARNING"},
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            "alembic": {"level": "WARNING"},
        },
    }
