"""The ``fubble`` command line, on a temporary SQLite database (FUBBLE_DATABASE_URL)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from fubble.api.app import create_app
from fubble.cli import _print_initial_admin_key, app
from fubble.config import Settings, get_settings

KEY = re.compile(r"fbl_[0-9a-f]{12}_[A-Za-z0-9-]{32,}")
SUBCOMMANDS = [["serve"], ["bill"], ["version"], ["db"], ["db", "upgrade"], ["keys"], ["keys", "create"]]
SUBCOMMANDS += [["keys", "list"], ["keys", "revoke"]]


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """FUBBLE_DATABASE_URL pointing at a fresh SQLite file (not created yet)."""
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FUBBLE_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # no stray .env
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


@pytest.fixture
def upgraded(url: str) -> str:
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    return url


def invoke(*args: str) -> Result:
    """Run ``fubble ARGS`` in-process, with settings read afresh from the environment."""
    get_settings.cache_clear()
    return CliRunner().invoke(app, list(args))


def run_module(module: str, *args: str, env_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if env_url is not None:
        env["FUBBLE_DATABASE_URL"] = env_url
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def authenticates(url: str, key: str) -> int:
    """The status of GET /customers/ with ``key`` against create_app() for that database."""
    with TestClient(create_app(Settings(database_url=url)), raise_server_exceptions=False) as client:
        return client.get("/customers/", headers={"Authorization": f"Bearer {key}"}).status_code


# --- help -------------------------------------------------------------------------------------------------------


def test_help_as_a_module() -> None:
    result = run_module("fubble", "--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "bill", "db", "keys", "version"):
        assert command in result.stdout


@pytest.mark.parametrize("args", SUBCOMMANDS, ids=" ".join)
def test_each_subcommand_has_help(args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_serve_help_documents_no_auth() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert "--no-auth" in result.output and "loopback" in result.output


def test_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*\n", result.output)


# --- database ---------------------------------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema(url: str, tmp_path: Path) -> None:
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "head" in result.output
    assert (tmp_path / "cli.db").exists()
    assert invoke("db", "upgrade").exit_code == 0  # idempotent


def test_database_setup_module(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'setup.db'}"
    result = run_module("fubble.database.setup", env_url=url)
    assert result.returncode == 0, result.stderr
    assert "database ready" in result.stdout
    assert authenticates(url, "fbl_000000000000_" + "a" * 43) == 401  # the schema is there: keys are looked up


# --- keys -------------------------------------------------------------------------------------------------------


def test_keys_create_list_revoke(upgraded: str) -> None:
    created = invoke("keys", "create", "web app ingest", "--scope", "ingest")
    assert created.exit_code == 0, created.output
    assert "web app ingest" in created.output and "ingest" in created.output
    match = KEY.search(created.output)
    assert match is not None, created.output
    key = match.group(0)
    assert authenticates(upgraded, key) == 403  # a valid key, but ingest may not read customers
    with TestClient(create_app(Settings(database_url=upgraded)), raise_server_exceptions=False) as client:
        response = client.post(
            "/events/",
            json={"customer_id": 1, "metric_name": "api_calls", "quantity": 1},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code in (404, 422), response.text

    admin = invoke("keys", "create", "ops", "--scope", "admin")
    admin_key = KEY.search(admin.output)
    assert admin_key is not None
    assert authenticates(upgraded, admin_key.group(0)) == 200

    listed = invoke("keys", "list")
    assert listed.exit_code == 0, listed.output
    assert "web app ingest" in listed.output and "ops" in listed.output
    assert key not in listed.output and key.split("_")[2] not in listed.output
    assert key.split("_")[1] in listed.output  # the public prefix

    key_id = re.search(r"created key (\d+)", created.output)
    assert key_id is not None
    revoked = invoke("keys", "revoke", key_id.group(1))
    assert revoked.exit_code == 0, revoked.output
    assert "revoked key" in revoked.output
    assert authenticates(upgraded, key) == 401
    assert invoke("keys", "list").output.count("\n") == 3  # header + 2 keys, the revoked one marked
    assert re.search(rf"^{key_id.group(1)}\tingest\t.*\t\d{{4}}-\d\d-\d\d", invoke("keys", "list").output, re.M)


def test_keys_errors(upgraded: str) -> None:
    bad_scope = invoke("keys", "create", "x", "--scope", "superuser")
    assert bad_scope.exit_code == 2
    assert "unknown scope" in bad_scope.output
    for name in ("", "   ", "x" * 256):
        bad_name = invoke("keys", "create", name, "--scope", "read")
        assert bad_name.exit_code == 2
        assert "1 to 255 characters" in bad_name.output
    unknown = invoke("keys", "revoke", "99")
    assert unknown.exit_code == 2
    assert "not found" in unknown.output
    only_admin = invoke("keys", "create", "root", "--scope", "admin")
    admin_id = re.search(r"created key (\d+)", only_admin.output)
    assert admin_id is not None
    last = invoke("keys", "revoke", admin_id.group(1))
    assert last.exit_code == 2
    assert "last active admin" in last.output
    assert "fbl_" not in invoke("keys", "list").output


# --- serve ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_serve_without_auth_refuses_non_loopback(url: str, host: str, tmp_path: Path) -> None:
    result = invoke("serve", "--no-auth", "--host", host)
    assert result.exit_code == 2
    assert "refusing to serve without authentication" in result.output
    assert not (tmp_path / "cli.db").exists()  # refused before touching anything


def test_serve_refuses_when_auth_is_disabled_by_setting(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUBBLE_AUTH_ENABLED", "false")
    monkeypatch.setenv("FUBBLE_HOST", "0.0.0.0")
    result = invoke("serve")
    assert result.exit_code == 2
    assert "refusing" in result.output


def test_serve_refusal_as_a_subprocess(tmp_path: Path) -> None:
    result = run_module("fubble", "serve", "--no-auth", "--host", "0.0.0.0", env_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode != 0
    assert "refusing to serve without authentication on 0.0.0.0" in result.stderr
    assert "Uvicorn running" not in result.stdout + result.stderr


def test_first_start_prints_an_admin_key_once(upgraded: str, capsys: pytest.CaptureFixture[str]) -> None:
    _print_initial_admin_key(upgraded)
    first = capsys.readouterr().out
    match = KEY.search(first)
    assert match is not None, first
    assert "only this once" in first
    key = match.group(0)
    assert authenticates(upgraded, key) == 200
    with TestClient(create_app(Settings(database_url=upgraded)), raise_server_exceptions=False) as client:
        keys = client.get("/api-keys", headers={"Authorization": f"Bearer {key}"}).json()
    assert [(k["name"], k["scope"]) for k in keys] == [("initial admin", "admin")]
    _print_initial_admin_key(upgraded)
    assert capsys.readouterr().out == ""


def test_no_initial_key_when_keys_exist(upgraded: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke("keys", "create", "reader", "--scope", "read").exit_code == 0
    capsys.readouterr()
    _print_initial_admin_key(upgraded)
    assert capsys.readouterr().out == ""


# --- bill -------------------------------------------------------------------------------------------------------


def test_bill_prints_the_invoice_line(upgraded: str) -> None:
    admin = KEY.search(invoke("keys", "create", "setup", "--scope", "admin").output)
    assert admin is not None
    headers = {"Authorization": f"Bearer {admin.group(0)}"}
    plan = {
        "name": "Base",
        "billing_frequency": "monthly",
        "price_components": [
            {"metric_name": "subscription_fee", "pricing_type": "subscription", "pricing_details": {"amount": "29.99"}}
        ],
    }
    with TestClient(create_app(Settings(database_url=upgraded)), headers=headers) as client:
        plan_id = client.post("/plans/", json=plan).json()["id"]
        customer_id = client.post("/customers/", json={"name": "Acme", "email": "a@example.com"}).json()["id"]
        subscription = {"plan_id": plan_id, "start_date": "2023-09-01T00:00:00"}
        assert client.post(f"/customers/{customer_id}/subscriptions", json=subscription).status_code in (200, 201)

    result = invoke("bill", "--start", "2023-09-01T00:00:00", "--end", "2023-10-01T00:00:00")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    number, customer, status, amount = lines[0].split("\t")
    assert number.startswith("INV-") and f"-{customer_id}-" in number
    assert customer == f"customer {customer_id}"
    assert status == "draft"
    assert amount == "29.99 USD"

    with TestClient(create_app(Settings(database_url=upgraded)), headers=headers) as client:
        invoices = client.get("/invoices/").json()
        assert [i["invoice_number"] for i in invoices] == [number]
        entries = client.get("/audit-log", params={"entity_type": "invoice"}).json()
        assert entries[0]["actor"] == "cli"

    assert invoke("bill", "--start", "2023-09-01T00:00:00", "--end", "2023-10-01T00:00:00").exit_code == 0
    bad = invoke("bill", "--start", "2023-10-01T00:00:00", "--end", "2023-09-01T00:00:00")
    assert bad.exit_code == 2, bad.output
    missing = invoke("bill", "--start", "2023-09-01T00:00:00", "--end", "2023-10-01T00:00:00", "--customer-id", "99")
    assert missing.exit_code == 2 and "99" in missing.output


def test_keys_list_shows_every_key_past_one_page(upgraded: str) -> None:
    from fubble.api_keys.scopes import Scope
    from fubble.api_keys.service import create
    from fubble.clock import SystemClock
    from fubble.db.session import Database

    database = Database(upgraded)
    with database.transaction() as session:
        for n in range(1005):  # the list reads 1000 keys at a time
            create(session, name=f"key {n}", scope=Scope.read, clock=SystemClock())
    database.dispose()
    listed = invoke("keys", "list")
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("\n") == 1 + 1005
    assert "\tkey 1004\t" in listed.output
