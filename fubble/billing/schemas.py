"""Request body of ``POST /invoices/generate`` (the response is a list of ``InvoiceOut`` of fubble.invoices)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fubble.api.fields import Ref, UTCTime

WINDOW_NOTE = (
    "The window is half-open [start_date, end_date): an event at exactly end_date is not in it. The guide's "
    '"end_date": "2023-09-30T23:59:59" therefore leaves out the last second of September; send 2023-10-01T00:00:00 '
    "to bill the whole month. Naive timestamps are UTC; offsets are converted."
)


class GenerateRequest(BaseModel):
    """The billing window, as a JSON body. The same fields may be sent as query parameters instead; a field sent
    both ways must have the same value in both."""

    model_config = ConfigDict(extra="forbid")

    start_date: UTCTime | None = Field(
        None, description="Start of the window (inclusive). Required (here or in the query)."
    )
    end_date: UTCTime | None = Field(
        None, description="End of the window (exclusive). Required (here or in the query)."
    )
    customer_id: Ref | None = Field(None, description="Bill only this customer (default: every customer).")


class GenerateWindow(BaseModel):
    """The merged, validated request."""

    start_date: datetime
    end_date: datetime
    customer_id: int | None
