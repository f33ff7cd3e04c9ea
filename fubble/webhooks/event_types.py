"""The event types webhook endpoints subscribe to (the ``type`` of each message)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    INVOICE_CREATED = "invoice.created"
    INVOICE_FINALIZED = "invoice.finalized"
    INVOICE_PAID = "invoice.paid"
    INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
    INVOICE_VOIDED = "invoice.voided"
    CREDIT_NOTE_CREATED = "credit_note.created"
    CREDIT_NOTE_REFUNDED = "credit_note.refunded"
    CREDIT_NOTE_REFUND_FAILED = "credit_note.refund_failed"
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_CHANGED = "subscription.changed"
    SUBSCRIPTION_CANCELED = "subscription.canceled"
    SUBSCRIPTION_ENDED = "subscription.ended"
    BILLING_RUN_COMPLETED = "billing_run.completed"
    USAGE_THRESHOLD_REACHED = "usage.threshold_reached"
    EVENTS_REJECTED = "events.rejected"
