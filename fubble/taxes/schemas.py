"""Request and response bodies of the tax rates API, and the percent type shared with coupons."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, WithJsonSchema

from fubble.api.fields import Name, not_boolean
from fubble.db.models import TaxRate

PERCENT_PLACES = 4


def _plain(value: Decimal) -> Decimal:
    """``1E+1`` written ``10``: a percent never keeps an exponent (its digits are otherwise kept as sent)."""
    exponent = value.as_tuple().exponent
    return value.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else value


# A percent (20 means 20%): 0 < p <= 100, at most PERCENT_PLACES decimal places, exact (JSON number or numeric string).
Percent = Annotated[
    Decimal,
    BeforeValidator(not_boolean),
    Field(gt=0, le=100, decimal_places=PERCENT_PLACES, allow_inf_nan=False),
    AfterValidator(_plain),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 100, "multipleOf": 0.0001}),
]


class TaxRateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["VAT 20%"], description="Shown on invoices next to the tax.")
    rate: Percent = Field(
        examples=[20],
        description="A percent (20 means 20%): more than 0, at most 100, at most 4 decimal places.",
    )
    applies_by_default: StrictBool = Field(
        False,
        description="Tax every customer that is not tax_exempt and has no tax_rate_ids of its own at this rate.",
    )


class TaxRateOut(BaseModel):
    id: int
    name: str
    rate: Decimal = Field(description="A percent: 20 means 20%.")
    applies_by_default: bool
    created_at: datetime

    @classmethod
    def of(cls, row: TaxRate) -> TaxRateOut:
        return cls(
            id=row.id,
            name=row.name,
            rate=row.rate,
            applies_by_default=row.applies_by_default,
            created_at=row.created_at,
        )
