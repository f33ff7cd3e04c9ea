"""Pure arithmetic on half-open intervals ``[start, end)``, used to decide what a billing run still has to bill.

Nothing here touches the database: the billing service loads subscriptions and coverage, and asks this module

* which parts of a subscription's active time are not yet invoiced (:func:`subtract`), and
* which parts of the window each subscription *owns* for a metric (:func:`owned`), so that overlapping
  subscriptions never bill the same usage twice.

An interval is a pair ``(start, end)`` with ``start < end``; empty intervals (``start >= end``) are dropped wherever
they appear. Endpoints may be anything totally ordered (datetimes in production, integers in the property tests).
Every function returns a *normalized* list: sorted, pairwise disjoint and non-adjacent (touching intervals are
merged), which is also the canonical form for comparing two sets of instants.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Claim", "Interval", "intersect", "normalize", "owned", "subtract", "total_length"]


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...
    def __le__(self, other: Any, /) -> bool: ...


T = TypeVar("T", bound=_Ordered)
K = TypeVar("K", bound=Hashable)

Interval = tuple[T, T]


def normalize(intervals: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """The union of ``intervals`` as a sorted list of disjoint, non-touching, non-empty intervals."""
    ordered = sorted((i for i in intervals if i[0] < i[1]), key=lambda i: i[0])
    merged: list[tuple[T, T]] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1]:
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, end if last_end < end else last_end)
        else:
            merged.append((start, end))
    return merged


def subtract(base: Iterable[tuple[T, T]], removed: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """The instants of ``base`` that are in none of ``removed`` (normalized)."""
    cuts = normalize(removed)
    result: list[tuple[T, T]] = []
    for start, end in normalize(base):
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor:
                continue
            if end <= cut_start:
                break
            if cursor < cut_start:
                result.append((cursor, cut_start))
            cursor = cut_end
            if end <= cursor:
                break
        if cursor < end:
            result.append((cursor, end))
    return normalize(result)


def intersect(a: Iterable[tuple[T, T]], b: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """The instants in both ``a`` and ``b`` (normalized)."""
    left, right = normalize(a), normalize(b)
    result: list[tuple[T, T]] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = left[i][0] if right[j][0] <= left[i][0] else right[j][0]
        end = left[i][1] if left[i][1] <= right[j][1] else right[j][1]
        if start < end:
            result.append((start, end))
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    return normalize(result)


def total_length(intervals: Iterable[tuple[int, int]]) -> int:
    """Sum of the lengths of the union of integer intervals (a test helper for measure-based properties)."""
    return sum(end - start for start, end in normalize(intervals))


P = TypeVar("P", bound=_Ordered)


@dataclass(frozen=True)
class Claim(Generic[K, T, P]):
    """A claimant ``key`` for some metric's usage: active over ``active`` and ranked by ``priority`` (higher wins)."""

    key: K
    priority: P
    active: Sequence[tuple[T, T]]


def owned(claims: Sequence[Claim[K, T, P]]) -> dict[K, list[tuple[T, T]]]:
    """Who owns each instant: the active claimant with the highest priority.

    For billing, the claimants are a customer's subscriptions whose plan prices the metric, ranked by
    ``(start_date, id)`` (the latest start wins, ties go to the highest id). A claimant owns exactly the part of its
    active time where no higher-ranked claimant is active, so the returned sets are pairwise disjoint and their union
    is the union of all active times. Priorities must be distinct; every key gets an entry (possibly empty).
    """
    ranked = sorted(claims, key=lambda claim: claim.priority, reverse=True)
    taken: list[tuple[T, T]] = []
    result: dict[K, list[tuple[T, T]]] = {}
    for claim in ranked:
        mine = subtract(claim.active, taken)
        result[claim.key] = mine
        taken = normalize([*taken, *mine])
    return result
