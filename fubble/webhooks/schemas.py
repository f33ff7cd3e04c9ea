"""Request and response bodies of the webhook endpoints, their delivery log, and the usage alerts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    WithJsonSchema,
)
from pydantic.json_schema import SkipJsonSchema

from fubble.api.fields import Name, Quantity, ShortText, json_integer, not_boolean, not_null
from fubble.db.models import UsageAlert, WebhookDelivery, WebhookEndpoint
from fubble.webhooks.event_types import EventType


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _distinct(values: list[EventType]) -> list[EventType]:
    if len(set(values)) != len(values):
        raise ValueError("must not name an event type twice")
    return values


Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        examples=["https://example.com/webhooks/fubble"],
        # printable ASCII after the scheme (a URI: an internationalized host is sent in punycode); that it names a
        # public host with a valid port is checked by the service (fubble.webhooks.urls), not by the schema
        json_schema_extra={"pattern": "^[hH][tT][tT][pP][sS]?://[!-~]+$"},
    ),
    AfterValidator(_no_nul),
]
EventTypes = Annotated[
    list[EventType],
    Field(min_length=1, max_length=len(EventType), json_schema_extra={"uniqueItems": True}),
    AfterValidator(_distinct),
]
# A percent of the plan's commitment: 0 < p <= 1000, at most 4 decimal places (exact).
CommitmentPercent = Annotated[
    Decimal,
    BeforeValidator(not_boolean),
    Field(gt=0, le=1000, decimal_places=4, allow_inf_nan=False),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1000, "multipleOf": 0.0001}),
]

_URL = "http or https. Hosts that are, or resolve to, non-public addresses are refused (422) unless the server runs "
_URL += "with FUBBLE_WEBHOOK_ALLOW_PRIVATE_URLS=true."
_DISABLED = "A disabled endpoint receives no new messages; its queued attempts wait until it is enabled again."


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(description=_URL)
    event_types: EventTypes = Field(description="The event types sent to this endpoint (each at most once).")
    description: ShortText | None = None
    disabled: StrictBool = Field(False, description=_DISABLED)


class EndpointUpdate(BaseModel):
    """Only the fields present in the body change; send null to clear the description."""

    model_config = ConfigDict(extra="forbid")

    url: Url | SkipJsonSchema[None] = not_null(description=_URL)
    event_types: EventTypes | SkipJsonSchema[None] = not_null(description="The event types sent to this endpoint.")
    description: ShortText | None = None
    disabled: StrictBool | SkipJsonSchema[None] = not_null(description=_DISABLED)


class EndpointOut(BaseModel):
    id: int
    url: str
    event_types: list[EventType]
    description: str | None
    disabled: bool
    previous_secret_expires_at: datetime | None = Field(
        description="After a secret rotation: until when the secret it replaced signs messages too (null: only the "
        "current secret signs, as it does from that instant on)."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: WebhookEndpoint) -> EndpointOut:
        return cls(
            id=row.id,
            url=row.url,
            event_types=[EventType(name) for name in row.event_types],
            description=row.description,
            disabled=row.disabled,
            previous_secret_expires_at=row.previous_secret_expires_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="The signing secret (`whsec_` and the base64 of 32 random bytes), shown only in this response: "
        "store it now. Verify each message's `webhook-signature` with it (Standard Webhooks)."
    )

    @classmethod
    def created(cls, row: WebhookEndpoint) -> EndpointCreated:
        return cls(**EndpointOut.of(row).model_dump(), secret=row.secret)


MAX_PREVIOUS_SECRET_SECONDS = 7 * 24 * 3600


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expire_previous_in_seconds: Annotated[int, BeforeValidator(json_integer)] = Field(
        24 * 3600,
        ge=0,
        le=MAX_PREVIOUS_SECRET_SECONDS,
        description="How long the secret being replaced keeps signing messages beside the new one (0: it stops at "
        "once; at most 7 days). Meanwhile each message carries both signatures, so receivers can switch at their "
        "own pace.",
    )


class DeliveryOut(BaseModel):
    id: int
    message_id: str = Field(description="The message's `webhook-id` (`msg_...`), the same on every attempt.")
    event_type: EventType
    attempt: int = Field(description="1 for the first attempt of the message to this endpoint, then 2, 3, ...")
    status_code: int | None = Field(description="The endpoint's HTTP status; null when no response came.")
    error: str | None = Field(description="Why the attempt failed (null when it succeeded: a 2xx status).")
    at: datetime = Field(description="When the attempt was made.")
    next_attempt_at: datetime | None = Field(
        description="When the message is attempted again after this failed attempt; null after a success, after "
        "the last retry, and after a replay (which is not retried)."
    )

    @classmethod
    def of(cls, row: WebhookDelivery, message_id: str, event_type: str) -> DeliveryOut:
        assert row.at is not None  # the log lists attempts made
        return cls(
            id=row.id,
            message_id=message_id,
            event_type=EventType(event_type),
            attempt=row.attempt,
            status_code=row.status_code,
            error=row.error,
            at=row.at,
            next_attempt_at=row.next_attempt_at,
        )


class ReplayOut(BaseModel):
    id: int = Field(description="The new attempt's id (listed in the delivery log once it is made).")
    message_id: str
    event_type: EventType
    attempt: int
    due_at: datetime = Field(description="When it is due: now.")

    @classmethod
    def of(cls, row: WebhookDelivery, message_id: str, event_type: str) -> ReplayOut:
        return cls(
            id=row.id, message_id=message_id, event_type=EventType(event_type), attempt=row.attempt, due_at=row.due_at
        )


class UsageAlertCreate(BaseModel):
    """Exactly one of ``threshold`` and ``percent_of_commitment``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["threshold"]}, {"required": ["percent_of_commitment"]}]},
    )

    metric_name: Name = Field(examples=["api_calls"], description="A known metric (defined, or priced by a plan).")
    threshold: Quantity | SkipJsonSchema[None] = not_null(
        description="Fire when the period's usage of the metric reaches this (an exact number more than 0)."
    )
    percent_of_commitment: CommitmentPercent | SkipJsonSchema[None] = not_null(
        description="Fire when the period's charges for the metric reach this percent of the `minimum_commitment` "
        "of the subscription's plan (100 means the whole commitment)."
    )


class UsageAlertOut(BaseModel):
    id: int
    customer_id: int
    metric_name: str
    threshold: Decimal | None
    percent_of_commitment: Decimal | None
    created_at: datetime

    @classmethod
    def of(cls, row: UsageAlert) -> UsageAlertOut:
        return cls(
            id=row.id,
            customer_id=row.customer_id,
            metric_name=row.metric_name,
            threshold=row.threshold,
            percent_of_commitment=row.percent_of_commitment,
            created_at=row.created_at,
        )
