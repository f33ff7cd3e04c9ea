"""Bodies of ``GET /ready``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    database: str = Field(description="The database's kind: sqlite or postgresql.", examples=["postgresql"])
    revision: str = Field(description="The database's schema revision (the latest this version knows).")


class NotReady(BaseModel):
    """A 503: not ready (``status`` and ``reason`` say why), or the worker is busy (``detail`` alone)."""

    detail: str = Field(description="What is wrong, in a sentence.")
    status: Literal["not_ready"] | None = None
    reason: Literal["database_unreachable", "not_migrated", "migrations_pending", "unknown_revision"] | None = Field(
        None,
        description="database_unreachable; not_migrated (no schema yet); migrations_pending (run `fubble db "
        "upgrade`); unknown_revision (a newer fubble migrated the database).",
    )
    revision: str | None = Field(None, description="The database's schema revision, if it has one.")
    expected: str | None = Field(None, description="The revision this version of fubble needs.")
