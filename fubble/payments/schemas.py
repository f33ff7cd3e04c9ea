"""Payment collection: the answer to a Stripe webhook."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WebhookReceived(BaseModel):
    received: bool = Field(description="Always true: the event was verified and is recorded.")
    duplicate: bool = Field(description="True when this event id was applied before (nothing happened this time).")
