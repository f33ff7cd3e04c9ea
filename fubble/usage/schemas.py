"""Response models of the usage API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from fubble.usage.buckets import Granularity


class UsagePoint(BaseModel):
    start: datetime = Field(description="Start of the bucket (clipped to the window).")
    end: datetime = Field(description="End of the bucket, exclusive (clipped to the window).")
    value: Decimal = Field(description="The metric's usage in [start, end), by its aggregation.")


class MetricUsage(BaseModel):
    metric_name: str
    display_name: str | None = Field(description="From the metric's definition, if it has one.")
    aggregation: str = Field(description="sum, count, max, unique_count, latest or weighted_sum.")
    unit: str | None = Field(description="From the metric's definition, if it has one.")
    total: Decimal = Field(
        description="The usage over the whole window (for sum and count: the sum of the points; for the other "
        "aggregations it is computed over the window, e.g. the distinct values of the whole window)."
    )
    points: list[UsagePoint]


class UsageSeriesOut(BaseModel):
    customer_id: int
    start_date: datetime
    end_date: datetime
    granularity: Granularity
    metrics: list[MetricUsage] = Field(description="One time series per metric, by metric name.")
