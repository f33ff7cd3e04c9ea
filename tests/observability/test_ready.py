"""GET /ready: 200 when the database answers and is at the revision this code needs, else 503 saying why; no key."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from bench.server import free_port
from fubble.api.app import create_app
from fubble.config import Settings
from fubble.db.migrate import MIGRATIONS_DIR, upgrade
from fubble.db.session import Database


def test_a_migrated_database_is_ready_without_a_key(anon_client: TestClient, db: Database) -> None:
    response = anon_client.get("/ready")
    assert response.status_code == 200, response.text
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert response.json() == {"status": "ready", "database": db.dialect, "revision": head}


def test_not_ready_until_the_database_is_migrated_to_the_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ready.db'}"
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str)
    with TestClient(create_app(Settings(database_url=url))) as client:
        empty = client.get("/ready")
        assert empty.status_code == 503
        assert empty.json() == {
            "detail": "the database has no schema yet: run `fubble db upgrade`",
            "status": "not_ready",
            "reason": "not_migrated",
            "revision": None,
            "expected": head,
        }
        upgrade(url, previous)  # one migration behind
        behind = client.get("/ready")
        assert behind.status_code == 503
        assert behind.headers["Retry-After"] == "5"
        assert behind.json() == {
            "detail": f"the database is at revision {previous}, this version needs {head}: run `fubble db upgrade`",
            "status": "not_ready",
            "reason": "migrations_pending",
            "revision": previous,
            "expected": head,
        }
        assert len(behind.headers["X-Request-ID"]) == 32
        upgrade(url)
        assert client.get("/ready").json() == {"status": "ready", "database": "sqlite", "revision": head}
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        engine.dispose()
        newer = client.get("/ready")
        assert newer.status_code == 503
        assert newer.json()["reason"] == "unknown_revision"
        assert newer.json()["revision"] == "9999_from_the_future"


def test_an_unreachable_database_is_not_ready() -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/fubble"  # nothing listens there
    with TestClient(create_app(Settings(database_url=nowhere))) as client:
        response = client.get("/ready")
    assert response.status_code == 503, response.text
    body = response.json()
    assert (body["status"], body["reason"], body["revision"]) == ("not_ready", "database_unreachable", None)
    assert body["detail"].startswith("the database does not answer: ")


def test_ready_is_documented_as_public_with_both_answers_and_the_metrics_are_left_out(tmp_path: Path) -> None:
    schema = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'schema.db'}")).openapi()
    operation = schema["paths"]["/ready"]["get"]
    assert operation["x-required-scope"] == "public"
    assert "security" not in operation
    assert set(operation["responses"]) == {"200", "503"}
    ready = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ready == {"$ref": "#/components/schemas/Ready"}
    not_ready = operation["responses"]["503"]
    assert not_ready["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/NotReady"}
    assert not_ready["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert schema["components"]["schemas"]["NotReady"]["required"] == ["detail"]  # a busy worker's 503 fits too
    assert not [path for path in schema["paths"] if path.startswith("/-")]  # GET /-/metrics is not an API operation
