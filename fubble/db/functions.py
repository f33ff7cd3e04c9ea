"""SQL functions that stay exact on both databases.

``exact_sum(col)`` and ``exact_max(col)`` compile to ``sum``/``max`` on PostgreSQL (NUMERIC is exact there) and to
Python-implemented aggregates on SQLite, where decimals are stored as text and the built-in ``sum`` would go through
floating point.
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


class exact_sum(GenericFunction[Decimal]):
    type = ExactDecimal()
    inherit_cache = True
    name = "exact_sum"


class exact_max(GenericFunction[Decimal]):
    type = ExactDecimal()
    inherit_cache = True
    name = "exact_max"


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
