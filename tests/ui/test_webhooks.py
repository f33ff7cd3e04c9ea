"""Webhooks in the dashboard: an action through the UI emits the same event as through the API, the delivery log shows
its attempts, and a replay from the page queues the message again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.config import Settings
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
