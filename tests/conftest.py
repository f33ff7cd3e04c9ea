"""Shared fixtures: every ``client`` test runs against SQLite and against PostgreSQL.

PostgreSQL is found at ``FUBBLE_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``); each
test session creates its own database there and drops it afterwards. In CI (``CI=true``) or with
``FUBBLE_REQUIRE_POSTGRES=1`` an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.dependencies import models as fastapi_dependency_models
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from bench.server import PG_ADMIN, database_url
from fubble.api.app import create_app
from fubble.api_keys import service as key_service
from fubble.api_keys.scopes import Scope
from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.base import Base
from fubble.db.migrate import upgrade
from fubble.db.session import Database, normalize_url

REQUIRE_POSTGRES = os.environ.get("CI", "").lower() == "true" or os.environ.get("FUBBLE_REQUIRE_POSTGRES") == "1"

# Hypothesis: in CI (and under `./dev mutate`) every property draws the same fixed examples (derandomized, no example
# database), so a red run can be reproduced and a mutant's verdict does not depend on luck; locally the draws vary
# from run to run. A test's own @settings(max_examples=...) still decides how many examples it draws.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=100)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI", "").lower() == "true" else "dev")
)
START = datetime(2024, 1, 15, 12, 0, tzinfo=UTC)


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(normalize_url(PG_ADMIN), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # the reason is shown in the skip message
        return str(exc).splitlines()[0]


def require_postgres() -> None:
    """Skip the test when PostgreSQL is unreachable, or fail it where PostgreSQL is required (CI)."""
    problem = _postgres_reachable()
    if problem is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required here but unreachable at {PG_ADMIN}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN} ({problem}); set CI=true to make this fatal")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require_postgres()
    with database_url("postgres", prefix="fubble_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "fubble-test.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    upgrade(url)
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


def _empty_all_tables(db: Database) -> None:
    """Every table emptied, dependents first, and every id sequence restarted at 1. DELETE, not TRUNCATE: a test
    leaves a few rows, and TRUNCATE of all tables costs PostgreSQL 0.1-0.2 s each time (it replaces every table's
    and index's files) where DELETE of a few rows costs milliseconds."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(text(f'DELETE FROM "{table}"'))
        if db.dialect == "postgresql":
            conn.execute(
                text(
                    "SELECT setval(c.oid, 1, false) FROM pg_class c "
                    "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"
                )
            )


@pytest.fixture
def db(database: Database) -> Database:
    _empty_all_tables(database)
    return database


@pytest.fixture(autouse=True)
def _forget_apps() -> Iterator[None]:
    """After each test, FastAPI's caches of which dependencies are coroutines or generators forget them: they hold
    up to 4,096 dependency callables each, and each callable its app, so hundreds of tests' apps (gigabytes) would
    stay alive and every garbage collection would walk them. A server builds one app; only tests build thousands."""
    yield
    for name in ("_is_gen_callable_cached", "_is_async_gen_callable_cached", "_is_coroutine_callable_cached"):
        cached = getattr(fastapi_dependency_models, name, None)
        if cached is not None:
            cached.cache_clear()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url)


@pytest.fixture
def make_key(db: Database, clock: FrozenClock) -> Callable[[str], str]:
    """Create an API key with the given scope and return the secret."""

    def make(scope: str, name: str | None = None) -> str:
        with db.transaction() as session:
            _row, key = key_service.create(session, name=name or f"test {scope}", scope=Scope(scope), clock=clock)
        return key

    return make


@pytest.fixture
def app(db: Database, clock: FrozenClock, settings: Settings) -> FastAPI:
    return create_app(settings, clock=clock, database=db)


@pytest.fixture
def admin_key(make_key: Callable[[str], str]) -> str:
    return make_key("admin", "test admin")


@pytest.fixture
def client(app: FastAPI, admin_key: str) -> Iterator[TestClient]:
    """An HTTP client for the real app, authenticated with an admin key."""
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}) as c:
        yield c


@pytest.fixture
def anon_client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client without an API key."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with a test marked ``slow`` first: ``./dev test`` schedules whole files on its workers in this order
    (``--dist loadfile --no-loadscope-reorder``), so the longest files start at once and the many short ones fill in
    around them, instead of one long file starting last while the other worker idles."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the rest keep their order
