"""Fixtures of the observability tests: a real ``fubble serve`` comes from the CLI tests' fixtures."""

from tests.cli.conftest import serve, sqlite_db  # noqa: F401
