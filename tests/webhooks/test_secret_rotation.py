"""Rotating an endpoint's signing secret: the new secret signs at once, the replaced one beside it until it expires
(both signatures checked with the ``standardwebhooks`` package), never shown again and never in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook, WebhookVerificationError

from fubble.clock import FrozenClock
from fubble.webhooks.delivery import WebhookWorker
from tests.webhooks.conftest import Receiver, customer, draft_invoice, endpoint


def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def send_one(client: TestClient, receiver: Receiver, worker: WebhookWorker) -> tuple[bytes, dict[str, str]]:
    invoice = draft_invoice(client, customer(client, f"C{len(receiver.received)}"))
    assert client.put(f"/invoices/{invoice['id']}/finalize").status_code == 200
    assert worker.tick() == 1
    got = receiver.received[-1]
    return got.body, got.headers


def test_the_replaced_secret_signs_beside_the_new_one_until_it_expires(
    client: TestClient, receiver: Receiver, worker: WebhookWorker, clock: FrozenClock
) -> None:
    hook = endpoint(client, receiver.url, "invoice.finalized")
    assert hook["previous_secret_expires_at"] is None
    old = hook["secret"]
    body, headers = send_one(client, receiver, worker)
    assert len(headers["webhook-signature"].split(" ")) == 1 and verifies(old, body, headers)

    rotated = client.post(f"/webhook-endpoints/{hook['id']}/rotate-secret", json={"expire_previous_in_seconds": 3600})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != old
    assert rotated.json()["previous_secret_expires_at"] == "2024-01-15T13:00:00Z"  # the frozen clock + 1 hour
    shown = client.get(f"/webhook-endpoints/{hook['id']}").json()
    assert "secret" not in shown and shown["previous_secret_expires_at"] == "2024-01-15T13:00:00Z"

    body, headers = send_one(client, receiver, worker)
    assert len(headers["webhook-signature"].split(" ")) == 2  # v1,<new> v1,<old>
    assert verifies(new, body, headers) and verifies(old, body, headers)
    assert not verifies("whsec_" + "A" * 44, body, headers)

    clock.advance(timedelta(hours=1))  # the replaced secret expires: only the new one signs
    body, headers = send_one(client, receiver, worker)
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert verifies(new, body, headers) and not verifies(old, body, headers)


def test_a_rotation_by_default_keeps_the_old_secret_a_day_and_zero_drops_it_at_once(
    client: TestClient, receiver: Receiver, worker: WebhookWorker
) -> None:
    hook = endpoint(client, receiver.url, "invoice.finalized")
    url = f"/webhook-endpoints/{hook['id']}/rotate-secret"
    first = client.post(url)  # no body: the defaults
    assert first.status_code == 200, first.text
    assert first.json()["previous_secret_expires_at"] == "2024-01-16T12:00:00Z"
    second = client.post(url, json={"expire_previous_in_seconds": 0})
    assert second.status_code == 200 and second.json()["previous_secret_expires_at"] is None
    body, headers = send_one(client, receiver, worker)
    assert verifies(second.json()["secret"], body, headers)
    assert not verifies(first.json()["secret"], body, headers) and not verifies(hook["secret"], body, headers)


def test_a_second_rotation_drops_the_secret_before_it(
    client: TestClient, receiver: Receiver, worker: WebhookWorker
) -> None:
    hook = endpoint(client, receiver.url, "invoice.finalized")
    url = f"/webhook-endpoints/{hook['id']}/rotate-secret"
    first = client.post(url, json={}).json()["secret"]
    second = client.post(url, json={"expire_previous_in_seconds": 600}).json()["secret"]
    body, headers = send_one(client, receiver, worker)
    assert verifies(second, body, headers) and verifies(first, body, headers)
    assert not verifies(hook["secret"], body, headers)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"expire_previous_in_seconds": -1}, ["body", "expire_previous_in_seconds"]),
        ({"expire_previous_in_seconds": 7 * 24 * 3600 + 1}, ["body", "expire_previous_in_seconds"]),
        ({"expire_previous_in_seconds": "60"}, ["body", "expire_previous_in_seconds"]),
        ({"expire_previous_in_seconds": True}, ["body", "expire_previous_in_seconds"]),
        ({"expire_previous_in_seconds": 1.5}, ["body", "expire_previous_in_seconds"]),
        ({"secret": "whsec_mine"}, ["body", "secret"]),
    ],
)
def test_bad_rotations_are_refused_and_change_nothing(
    client: TestClient, receiver: Receiver, body: dict[str, object], loc: list[str]
) -> None:
    hook = endpoint(client, receiver.url, "invoice.finalized")
    response = client.post(f"/webhook-endpoints/{hook['id']}/rotate-secret", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc
    assert client.get(f"/webhook-endpoints/{hook['id']}").json() == {
        **{k: v for k, v in hook.items() if k != "secret"},
        "previous_secret_expires_at": None,
    }


def test_rotation_needs_an_admin_key_and_a_known_endpoint(
    client: TestClient, anon_client: TestClient, make_key: object, receiver: Receiver
) -> None:
    hook = endpoint(client, receiver.url, "invoice.finalized")
    assert client.post("/webhook-endpoints/999/rotate-secret").status_code == 404
    client.delete(f"/webhook-endpoints/{hook['id']}")
    assert client.post(f"/webhook-endpoints/{hook['id']}/rotate-secret").status_code == 404
    write = make_key("write")  # type: ignore[operator]
    other = endpoint(client, receiver.url, "invoice.finalized")
    refused = anon_client.post(
        f"/webhook-endpoints/{other['id']}/rotate-secret", headers={"Authorization": f"Bearer {write}"}
    )
    assert refused.status_code == 403


def test_the_audit_log_records_a_rotation_without_any_secret(client: TestClient, receiver: Receiver) -> None:
    hook = endpoint(client, receiver.url, "invoice.finalized")
    url = f"/webhook-endpoints/{hook['id']}/rotate-secret"
    rotated = [client.post(url).json(), client.post(url, json={"expire_previous_in_seconds": 0}).json()]
    entries = client.get("/audit-log", params={"entity_type": "webhook_endpoint"}).json()
    assert "whsec_" not in str(entries)
    assert [(e["action"], e["request"]) for e in entries] == [("create", "POST /webhook-endpoints")] + [
        ("update", f"POST {url}")
    ] * 2  # a rotation that changes only the (hidden) secret is logged too
    assert [e["after"]["previous_secret_expires_at"] for e in entries[1:]] == ["2024-01-16T12:00:00Z", None]
    assert all(secret["secret"].startswith("whsec_") for secret in rotated)


def test_a_whole_number_written_with_a_point_is_an_integer(client: TestClient, receiver: Receiver) -> None:
    hook = endpoint(client, receiver.url, "invoice.finalized")
    url = f"/webhook-endpoints/{hook['id']}/rotate-secret"
    rotated = client.post(
        url, content=b'{"expire_previous_in_seconds": 97.0}', headers={"content-type": "application/json"}
    )
    assert rotated.status_code == 200, rotated.text  # JSON Schema's integers include 97.0, as the schema declares
    assert rotated.json()["previous_secret_expires_at"] == "2024-01-15T12:01:37Z"
