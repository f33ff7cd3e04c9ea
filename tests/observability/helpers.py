"""Reading ``GET /-/metrics`` back in tests."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]


def parse(text: str) -> dict[Sample, float]:
    """Every sample of a Prometheus text exposition: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def reader(scrape: Callable[[], str]) -> Callable[..., float]:
    """``value(name, **labels)``: the sample's value in a fresh scrape (0 if absent)."""

    def value(name: str, **labels: str) -> float:
        return parse(scrape()).get((name, frozenset(labels.items())), 0.0)

    return value
