"""Webhooks in the dashboard: an action through the UI emits the same event as through the API, the delivery log shows
its attempts, and a replay from the page queues the message again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.models import WebhookEndpoint
from fubble.db.session import Database
from fubble.webhooks.delivery import WebhookWorker
from tests.ui.conftest import Seeded

CLOSED_PORT = "http://127.0.0.1:9/hooks"  # nothing listens there: every attempt fails at once


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url, webhook_allow_private_urls=True, webhook_retry_schedule=[3600])


@pytest.fixture
def worker(db: Database, clock: FrozenClock, settings: Settings) -> Iterator[WebhookWorker]:
    with WebhookWorker(db, clock, settings) as running:
        yield running


def test_the_delivery_log_and_a_replay_from_the_page(
    client: TestClient, seeded: Seeded, admin_browser: TestClient, worker: WebhookWorker
) -> None:
    hook = client.post("/webhook-endpoints", json={"url": CLOSED_PORT, "event_types": ["invoice.finalized"]})
    assert hook.status_code == 201, hook.text
    endpoint_id = hook.json()["id"]
    assert admin_browser.post(f"/ui/invoices/{seeded.invoice_id}/finalize").status_code == 303
    assert worker.tick() == 1  # the finalize made through the dashboard was emitted like the API's
    log = f"/webhook-endpoints/{endpoint_id}/deliveries"
    (failed,) = client.get(log).json()
    assert failed["event_type"] == "invoice.finalized" and failed["status_code"] is None

    listed = admin_browser.get("/ui/webhooks").text
    assert CLOSED_PORT in listed and f'href="/ui/webhooks/{endpoint_id}"' in listed
    page = admin_browser.get(f"/ui/webhooks/{endpoint_id}").text
    assert failed["message_id"] in page and "invoice.finalized" in page and "2024-01-15 13:00 UTC" in page

    replay = f"/ui/webhooks/{endpoint_id}/deliveries/{failed['id']}/replay"
    done = admin_browser.post(replay)
    assert done.status_code == 303 and done.headers["location"] == f"/ui/webhooks/{endpoint_id}"
    # Attempt 2 is the retry an hour after the failure (not made yet); the replay is attempt 3, due now.
    assert "queued again as attempt 3" in admin_browser.get(done.headers["location"]).text
    assert worker.tick() == 1
    replayed, first = client.get(log).json()
    assert first == failed
    assert (replayed["message_id"], replayed["attempt"]) == (failed["message_id"], 3)

    assert admin_browser.post(f"/ui/webhooks/{endpoint_id}/deliveries/999/replay").status_code == 404


def test_rotating_the_signing_secret_from_the_page(client: TestClient, admin_browser: TestClient, db: Database) -> None:
    hook = client.post("/webhook-endpoints", json={"url": CLOSED_PORT, "event_types": ["invoice.finalized"]}).json()
    page = admin_browser.get(f"/ui/webhooks/{hook['id']}").text
    assert 'action="/ui/webhooks/1/rotate-secret"'.replace("1", str(hook["id"])) in page
    assert "whsec_" not in page

    rotated = admin_browser.post(
        f"/ui/webhooks/{hook['id']}/rotate-secret", data={"expire_previous_in_seconds": "3600"}
    )
    assert rotated.status_code == 200, rotated.text
    with db.transaction() as session:
        stored = session.get(WebhookEndpoint, hook["id"])
        assert stored is not None
        secret, previous = stored.secret, stored.previous_secret
    assert secret != hook["secret"] and previous == hook["secret"]
    assert f'<code class="key">{secret}</code>' in rotated.text and hook["secret"] not in rotated.text
    assert "signs beside it until 2024-01-15 13:00 UTC" in rotated.text
    shown = client.get(f"/webhook-endpoints/{hook['id']}").json()
    assert shown["previous_secret_expires_at"] == "2024-01-15T13:00:00Z"
    assert secret not in admin_browser.get(f"/ui/webhooks/{hook['id']}").text  # shown only on the answer

    refused = admin_browser.post(f"/ui/webhooks/{hook['id']}/rotate-secret", data={"expire_previous_in_seconds": "5"})
    assert refused.status_code == 422 and "one of 0, 3600, 86400, 604800 seconds" in refused.text
    assert admin_browser.post("/ui/webhooks/999/rotate-secret").status_code == 404
