"""SQL functions that stay exact on both databases.

``exact_sum(col)`` and ``exact_max(col)`` compile to ``sum``/``max`` on PostgreSQL (NUMERIC is exact there) and to
Python-implemented aggregates on SQLite, where decimals are stored as text and the built-in ``sum`` would go through
floating point. The scalar ``exact_add(a, b)`` and ``exact_greatest(a, b)`` (used by the rollup upserts) compile to
``a + b`` / ``GREATEST(a, b)`` on PostgreSQL and on SQLite to Python-implemented functions with the same NULL
behaviour (a sum with NULL is NULL; ``GREATEST`` ignores a NULL argument), except for whole numbers of up to 18
digits, which SQLite adds and compares itself.
"""

from __future__ import annotations

import sqlite3
from decimal import Context, Decimal
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction

from fubble.db.types import ExactDecimal, decimal_text

_EXACT = Context(prec=80)
# Scalar additions of rollup totals: far more digits than any stored value can have, so they never round.
_WIDE = Context(prec=200)


class exact_sum(GenericFunction[Decimal]):
    type = ExactDecimal()
    inherit_cache = True
    name = "exact_sum"


class exact_max(GenericFunction[Decimal]):
    type = ExactDecimal()
    inherit_cache = True
    name = "exact_max"


class exact_add(GenericFunction[Decimal]):
    type = ExactDecimal()
    inherit_cache = True
    name = "exact_add"


class exact_greatest(GenericFunction[Decimal]):
    type = ExactDecimal()
    inherit_cache = True
    name = "exact_greatest"


@compiles(exact_sum)
def _sum_default(element: exact_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(exact_sum, "sqlite")
def _sum_sqlite(element: exact_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"fubble_dsum({compiler.process(element.clauses, **kw)})"


@compiles(exact_max)
def _max_default(element: exact_max, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(exact_max, "sqlite")
def _max_sqlite(element: exact_max, compiler: SQLCompiler, **kw: Any) -> str:
    return f"fubble_dmax({compiler.process(element.clauses, **kw)})"


def _two_arguments(element: GenericFunction[Decimal], compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    first, second = (compiler.process(clause, **kw) for clause in element.clauses)
    return first, second


@compiles(exact_add)
def _add_default(element: exact_add, compiler: SQLCompiler, **kw: Any) -> str:
    first, second = _two_arguments(element, compiler, **kw)
    return f"({first} + {second})"


def _both_small_whole(first: str, second: str) -> str:
    """SQL: whether both texts are whole numbers of 1 to 18 plain digits, whose sum SQLite's own 64-bit integers
    hold exactly (most rollup values). Then SQLite does the arithmetic itself instead of calling back into Python,
    which takes a fifth off each rollup upsert; it gives the same text (stored values have no leading zeros)."""
    return " AND ".join(f"{x} NOT GLOB '*[^0-9]*' AND length({x}) BETWEEN 1 AND 18" for x in (first, second))


@compiles(exact_add, "sqlite")
def _add_sqlite(element: exact_add, compiler: SQLCompiler, **kw: Any) -> str:
    first, second = _two_arguments(element, compiler, **kw)
    return (
        f"CASE WHEN {_both_small_whole(first, second)} "
        f"THEN CAST(CAST({first} AS INTEGER) + CAST({second} AS INTEGER) AS TEXT) "
        f"ELSE fubble_dadd({first}, {second}) END"
    )


@compiles(exact_greatest)
def _greatest_default(element: exact_greatest, compiler: SQLCompiler, **kw: Any) -> str:
    first, second = _two_arguments(element, compiler, **kw)
    return f"GREATEST({first}, {second})"


@compiles(exact_greatest, "sqlite")
def _greatest_sqlite(element: exact_greatest, compiler: SQLCompiler, **kw: Any) -> str:
    first, second = _two_arguments(element, compiler, **kw)
    return (
        f"CASE WHEN {_both_small_whole(first, second)} "
        f"THEN CAST(max(CAST({first} AS INTEGER), CAST({second} AS INTEGER)) AS TEXT) "
        f"ELSE fubble_dgreatest({first}, {second}) END"
    )


def _whole(a: Any, b: Any) -> bool:
    """Whether both values are whole numbers written in plain ASCII digits (most rollup values): then ``int``
    arithmetic gives the same text as ``Decimal`` arithmetic, at a fraction of the cost."""
    return type(a) is str and type(b) is str and a.isascii() and b.isascii() and a.isdigit() and b.isdigit()


def _decimal_add(a: Any, b: Any) -> str | None:
    if a is None or b is None:
        return None
    if _whole(a, b):
        return str(int(a) + int(b))
    return decimal_text(_WIDE.add(Decimal(a), Decimal(b)))


def _decimal_greatest(a: Any, b: Any) -> str | None:
    if a is None or b is None:
        return None if a is None and b is None else decimal_text(Decimal(a if b is None else b))
    if _whole(a, b):
        return str(max(int(a), int(b)))
    first, second = Decimal(a), Decimal(b)
    return decimal_text(second if second > first else first)


class _DecimalSum:
    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            self.total = _EXACT.add(self.total or Decimal(0), Decimal(value))

    def finalize(self) -> str | None:
        return None if self.total is None else decimal_text(self.total)


class _DecimalMax:
    def __init__(self) -> None:
        self.best: Decimal | None = None

    def step(self, value: Any) -> None:
        if value is not None:
            current = Decimal(value)
            if self.best is None or current > self.best:
                self.best = current

    def finalize(self) -> str | None:
        return None if self.best is None else decimal_text(self.best)


def register_sqlite_functions(connection: sqlite3.Connection) -> None:
    connection.create_aggregate("fubble_dsum", 1, _DecimalSum)  # type: ignore[arg-type]
    connection.create_aggregate("fubble_dmax", 1, _DecimalMax)  # type: ignore[arg-type]
    connection.create_function("fubble_dadd", 2, _decimal_add, deterministic=True)
    connection.create_function("fubble_dgreatest", 2, _decimal_greatest, deterministic=True)
