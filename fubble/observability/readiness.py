"""Whether this server can serve requests: its database answers and its schema is the one this code expects."""

from __future__ import annotations

from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fubble.db.migrate import MIGRATIONS_DIR
from fubble.observability.schemas import NotReady, Ready


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))  # reads every migration file once


def expected_revision() -> str:
    """The schema revision this code needs: the head of its migrations (several heads: joined by commas)."""
    return ",".join(sorted(_script().get_heads()))


def check(session: Session) -> Ready | NotReady:
    """:class:`Ready` when the database answers and its revision is :func:`expected_revision`, else why not."""
    expected = expected_revision()
    try:
        revisions = session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:
        try:
            session.execute(text("SELECT 1"))
        except DBAPIError as exc:
            cause = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
            return _not_ready("database_unreachable", f"the database does not answer: {cause}", None, expected)
        revisions = []
    if not revisions:
        return _not_ready("not_migrated", "the database has no schema yet: run `fubble db upgrade`", None, expected)
    revision = ",".join(sorted(revisions))
    if revision == expected:
        return Ready(database=session.get_bind().dialect.name, revision=revision)
    known = all(_known(r) for r in revisions)
    if known:
        why = f"the database is at revision {revision}, this version needs {expected}: run `fubble db upgrade`"
        return _not_ready("migrations_pending", why, revision, expected)
    why = f"the database is at revision {revision}, which this version does not know (a newer fubble migrated it)"
    return _not_ready("unknown_revision", why, revision, expected)


def _known(revision: str) -> bool:
    try:
        return _script().get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for unknown or ambiguous ids
        return False


def _not_ready(reason: str, detail: str, revision: str | None, expected: str) -> NotReady:
    return NotReady.model_validate(
        {"detail": detail, "status": "not_ready", "reason": reason, "revision": revision, "expected": expected}
    )
