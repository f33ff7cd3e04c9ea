"""HTTP routes of the webhook endpoints (admin: they hold signing secrets), their delivery log and replay, and the
customers' usage alerts (read and write scopes, like every customer route)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fubble.api.deps import ClockDep, CustomerId, PageDep, SessionDep, SettingsDep, id_path
from fubble.api.routing import new_router
from fubble.api_keys.scopes import Scope
from fubble.errors_doc import responses
from fubble.webhooks import alerts, repository, service
from fubble.webhooks.event_types import EventType
from fubble.webhooks.schemas import (
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    ReplayOut,
    SecretRotation,
    UsageAlertCreate,
    UsageAlertOut,
)

router = new_router("/webhook-endpoints", tag="webhooks", scope=Scope.admin)
alerts_router = new_router("/customers", tag="usage alerts")

EndpointId = Annotated[int, id_path("The webhook endpoint's id")]
DeliveryId = Annotated[int, id_path("The delivery attempt's id (from the endpoint's delivery log)")]
AlertId = Annotated[int, id_path("The usage alert's id")]

CREATE = f"""
Returns 201 with the endpoint and its signing `secret` (`whsec_...`), shown only in this response. From then on, every
event of its `event_types` is sent to `url` as a POST of `{{"type", "timestamp", "data"}}` (`data`: the object as the
API returns it), signed as Standard Webhooks specifies (`webhook-id`, `webhook-timestamp`, `webhook-signature`), by a
worker, never on the request that made the change. A 2xx answer delivers it; anything else is retried after each delay
of `FUBBLE_WEBHOOK_RETRY_SCHEDULE` (by default for more than 27 hours). Messages are written in the transaction of
their change, so an endpoint receives every committed change at least once (deduplicate on `webhook-id`), in no
guaranteed order; an endpoint receives the messages emitted after it was created.

Event types: {", ".join(f"`{t.value}`" for t in EventType)}.

`url`: http or https; a host that is, or resolves to, a private, loopback, link-local, multicast or reserved address
is refused (422) unless the server runs with `FUBBLE_WEBHOOK_ALLOW_PRIVATE_URLS=true` (an SSRF guard; checked again on
every attempt). Each event type at most once (422).
"""


@router.post(
    "", status_code=201, summary="Register a webhook endpoint (admin)", description=CREATE, responses=responses(422)
)
def create_endpoint(
    body: EndpointCreate, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> EndpointCreated:
    return EndpointCreated.created(service.create(session, body, clock=clock, settings=settings))


@router.get("", summary="List webhook endpoints (admin; by id, secrets never shown)", responses=responses(422))
def list_endpoints(session: SessionDep, page: PageDep) -> list[EndpointOut]:
    return [EndpointOut.of(row) for row in repository.list_endpoints(session, limit=page.limit, offset=page.offset)]


@router.get("/{endpoint_id}", summary="Get a webhook endpoint (admin)", responses=responses(404, 422))
def get_endpoint(endpoint_id: EndpointId, session: SessionDep) -> EndpointOut:
    return EndpointOut.of(service.get(session, endpoint_id))


@router.put("/{endpoint_id}", summary="Change a webhook endpoint (admin)", responses=responses(404, 422))
def update_endpoint(
    endpoint_id: EndpointId, body: EndpointUpdate, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> EndpointOut:
    """Only the fields present change (`description: null` clears it); a new `url` is checked like a new endpoint's.
    The secret changes only by `POST /webhook-endpoints/{id}/rotate-secret`. Messages already queued go to the
    endpoint's URL as it is when they are sent."""
    return EndpointOut.of(service.update(session, endpoint_id, body, clock=clock, settings=settings))


@router.post(
    "/{endpoint_id}/rotate-secret",
    summary="Rotate a webhook endpoint's signing secret (admin)",
    responses=responses(404, 422),
)
def rotate_secret(
    endpoint_id: EndpointId, session: SessionDep, clock: ClockDep, body: SecretRotation | None = None
) -> EndpointCreated:
    """Returns 200 with the endpoint and its new `secret`, shown only in this response. The secret it replaces keeps
    signing for `expire_previous_in_seconds` (default 24 hours; 0: it stops at once): until
    `previous_secret_expires_at`, each message's `webhook-signature` carries both signatures (`v1,<new> v1,<old>`),
    and Standard Webhooks verifiers accept a message when either matches. So: rotate, deploy the new secret to the
    receiver, and the old one expires by itself. A second rotation drops the secret before it. The body is optional."""
    rotation = body or SecretRotation()
    expire = timedelta(seconds=rotation.expire_previous_in_seconds)
    return EndpointCreated.created(service.rotate_secret(session, endpoint_id, expire, clock=clock))


@router.delete(
    "/{endpoint_id}", status_code=204, summary="Delete a webhook endpoint (admin)", responses=responses(404, 422)
)
def delete_endpoint(endpoint_id: EndpointId, session: SessionDep, clock: ClockDep) -> None:
    """It receives nothing more: its attempts not yet made are canceled. 404 afterwards, its delivery log included."""
    service.delete(session, endpoint_id, clock=clock)


@router.get(
    "/{endpoint_id}/deliveries",
    summary="An endpoint's delivery log (admin; newest first)",
    responses=responses(404, 422),
)
def list_deliveries(endpoint_id: EndpointId, session: SessionDep, page: PageDep) -> list[DeliveryOut]:
    """One entry per attempt made, newest first (by id, the order attempts were queued): `status_code` (null when
    no response came), `error` (null on success), and after a failed attempt with a retry left, `next_attempt_at`.
    Attempts not made yet are not listed."""
    return service.deliveries(session, endpoint_id, limit=page.limit, offset=page.offset)


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    summary="Send a delivery's message again (admin)",
    responses=responses(404, 422),
)
def replay_delivery(
    endpoint_id: EndpointId, delivery_id: DeliveryId, session: SessionDep, clock: ClockDep
) -> ReplayOut:
    """Queues one new attempt of that attempt's message to this endpoint, due now (202); the worker sends it (with
    the message's same `webhook-id`). A replay is not retried. 404 for an unknown endpoint or an attempt not in its
    log."""
    return ReplayOut.of(*service.replay(session, endpoint_id, delivery_id, clock=clock))


ALERT = """
Returns 201 with the alert. Give `metric_name` (a known metric: defined, or priced by a plan; 422 otherwise) and
exactly one of `threshold` (the period's usage of the metric, by its aggregation) and `percent_of_commitment` (the
period's charges for the metric, as the upcoming invoice prices them, against that percent of the `minimum_commitment`
of the subscription's plan; a plan without a commitment never fires it); else 422.

The alert fires `usage.threshold_reached` (a webhook event) once per billing period, when the value reaches the
threshold: the period is the current one of the customer's active subscription whose plan prices the metric (else of
its first active subscription), as of the customer's now. The worker checks alerts every
`FUBBLE_USAGE_ALERT_INTERVAL_SECONDS` (60), never while events are ingested, and only while some webhook endpoint
subscribes to `usage.threshold_reached`.
"""


@alerts_router.post(
    "/{customer_id}/usage-alerts",
    status_code=201,
    summary="Create a usage alert",
    description=ALERT,
    responses=responses(404, 422),
)
def create_usage_alert(
    customer_id: CustomerId, body: UsageAlertCreate, session: SessionDep, clock: ClockDep
) -> UsageAlertOut:
    return UsageAlertOut.of(alerts.create(session, customer_id, body, clock=clock))


@alerts_router.get(
    "/{customer_id}/usage-alerts", summary="List a customer's usage alerts (by id)", responses=responses(404, 422)
)
def list_usage_alerts(customer_id: CustomerId, session: SessionDep, page: PageDep) -> list[UsageAlertOut]:
    rows = alerts.list_for_customer(session, customer_id, limit=page.limit, offset=page.offset)
    return [UsageAlertOut.of(row) for row in rows]


@alerts_router.delete(
    "/{customer_id}/usage-alerts/{alert_id}",
    status_code=204,
    summary="Delete a usage alert",
    responses=responses(404, 422),
)
def delete_usage_alert(customer_id: CustomerId, alert_id: AlertId, session: SessionDep) -> None:
    """404 if the alert is not this customer's."""
    alerts.delete_alert(session, customer_id, alert_id)
