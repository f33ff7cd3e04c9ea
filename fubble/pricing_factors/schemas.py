"""Request and response bodies of the pricing-factors API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from fubble.api.fields import Decimal12, UTCTime
from fubble.db.models import PricingFactor

NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


class FactorSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Decimal12 = Field(description="The factor's value; any sign, at most 12 decimal places.")
    effective_from: UTCTime | None = Field(
        None, description="From when the value applies (until the next one); defaults to now. Naive times are UTC."
    )


class FactorValueOut(BaseModel):
    name: str
    value: Decimal
    effective_from: datetime

    @classmethod
    def of(cls, row: PricingFactor) -> FactorValueOut:
        return cls(name=row.name, value=row.value, effective_from=row.effective_from)


class FactorOut(BaseModel):
    name: str
    current: FactorValueOut | None = Field(description="The value in effect now; null if every value is in the future.")
    history: list[FactorValueOut] = Field(description="Every value, oldest effective_from first (future ones too).")
