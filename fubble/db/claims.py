"""Claiming due work in the database (webhook delivery attempts, payment attempts): several processes and hosts run
the same worker, and each piece of work is held by one of them at a time.

:func:`claim_due` first looks in a read session whether anything is due at all, so an idle worker never opens a
write transaction (on SQLite, the database's write lock) just to find nothing; then it claims in a write transaction
of its own, committed before the work is done. The queries are the domain's (``repository.any_due`` and
``repository.claim``): what is due and how a claim is recorded differ per kind of work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from fubble.db.session import Database

T = TypeVar("T")


def claim_due(
    db: Database,
    any_due: Callable[..., bool],
    claim: Callable[..., list[T]],
    *,
    due_by: datetime,
    lease_now: datetime,
    until: datetime,
    holder: str,
    limit: int,
) -> list[T]:
    """What ``claim`` claimed for ``holder`` until ``until`` (up to ``limit`` pieces due by ``due_by`` whose earlier
    claims ended by ``lease_now``), committed; ``[]`` without a write when ``any_due`` finds nothing."""
    read = db.session(write=False)
    try:
        if not any_due(read, due_by=due_by, lease_now=lease_now):
            return []
    finally:
        read.close()
    with db.transaction() as session:
        return claim(session, due_by=due_by, lease_now=lease_now, until=until, holder=holder, limit=limit)
