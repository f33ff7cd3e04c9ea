"""Request and response bodies of the test clocks API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fubble.api.fields import Name, UTCTime
from fubble.db.models import TestClock


class TestClockCreate(BaseModel):
    __test__ = False  # not a pytest test class

    model_config = ConfigDict(extra="forbid")

    frozen_time: UTCTime = Field(
        description="The clock's starting time: its customers live at it, and subscriptions created for them start "
        "there by default. Any instant, past or future.",
        examples=["2024-01-01T00:00:00Z"],
    )
    name: Name | None = Field(None, description="A label of your own.", examples=["annual renewal rehearsal"])


class TestClockAdvance(BaseModel):
    __test__ = False

    model_config = ConfigDict(extra="forbid")

    to: UTCTime = Field(
        description="The clock's new time: after its current frozen_time (422 otherwise), e.g. `2024-04-01T00:00:00Z`.",
    )


class TestClockOut(BaseModel):
    __test__ = False

    id: int
    name: str | None
    frozen_time: datetime = Field(description="The clock's time: now for its customers.")
    created_at: datetime
    updated_at: datetime = Field(description="When the clock was created or last moved (server time).")

    @classmethod
    def of(cls, row: TestClock) -> TestClockOut:
        return cls(
            id=row.id,
            name=row.name,
            frozen_time=row.frozen_time,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class TestClockAdvanced(TestClockOut):
    __test__ = False

    billing_run_ids: list[int] = Field(
        description="The billing runs the advance made (trigger `test_clock`), in order: one as of each instant on the "
        "way where billing can change, the last as of `to`. See GET /billing/runs/{id} for their invoices."
    )
