"""Request and response bodies of the billing runs API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fubble.api.fields import UTCTime
from fubble.db.models import BillingRun


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: UTCTime | None = Field(
        None,
        description="Bill every period due by this instant (default: now). May lie in the past, to back-fill; not "
        "in the future (422: only a test clock bills the future).",
    )


class RunOut(BaseModel):
    id: int
    as_of: datetime
    started_at: datetime
    finished_at: datetime | None = Field(description="null while the run works, or if it was interrupted.")
    invoices_created: int
    invoices_finalized: int = Field(description="Invoices this run finalized (created finalized, or earlier drafts).")
    invoice_ids: list[int] = Field(description="The invoices this run created, by id.")
    trigger: str = Field(description="What started it: `api`, `cli`, `scheduler` or `test_clock`.")
    test_clock_id: int | None = Field(description="The test clock whose customers it billed (null: real customers).")

    @classmethod
    def of(cls, run: BillingRun, invoice_ids: list[int]) -> RunOut:
        return cls(
            id=run.id,
            as_of=run.as_of,
            started_at=run.started_at,
            finished_at=run.finished_at,
            invoices_created=run.invoices_created,
            invoices_finalized=run.invoices_finalized,
            invoice_ids=invoice_ids,
            trigger=run.trigger,
            test_clock_id=run.test_clock_id,
        )
