"""Every method of the client's namespaces is an operation of the API as the app serves it: its method and path
reach a route, whose response model is the type the method answers; the sync and async namespaces have the same
methods."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.routing import Match

from fubble.api.app import create_app
from fubble.client import resources
from fubble.client._call import Call
from fubble.client._resource import AsyncResource, SyncResource
from fubble.config import Settings

SAMPLES = [  # a value for a required argument, by its annotation
    ("int | str", "api_calls"),
    ("Mapping", {}),
    ("Iterable", []),
    ("Sequence", []),
    ("datetime", datetime(2024, 1, 1, tzinfo=UTC)),
    ("Decimal", 1),
    ("Quantity", 1),
    ("int", 7),
    ("str", "x"),
]


def _sample(parameter: inspect.Parameter) -> Any:
    annotation = str(parameter.annotation)
    return next(value for marker, value in SAMPLES if annotation.startswith(marker))


def operations(base: type) -> dict[str, Callable[..., Call[Any]]]:
    found = {}
    for name, kind in inspect.getmembers(resources, inspect.isclass):
        if issubclass(kind, base) and kind is not base:
            for attribute, method in vars(kind).items():
                if hasattr(method, "operation"):
                    found[f"{name.removeprefix('Async')}.{attribute}"] = method.operation
    return found


def sample_call(operation: Callable[..., Call[Any]]) -> Call[Any]:
    args, kwargs = [], {}
    for parameter in inspect.signature(operation).parameters.values():
        if parameter.default is not inspect.Parameter.empty or parameter.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = _sample(parameter)
        else:
            args.append(_sample(parameter))
    return operation(*args, **kwargs)


SYNC = operations(SyncResource)


def test_sync_and_async_namespaces_have_the_same_operations() -> None:
    assert len(SYNC) > 50
    assert operations(AsyncResource) == SYNC


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[APIRoute]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('routes')) / 'never-opened.db'}"
    return [route for route in create_app(Settings(database_url=url)).routes if isinstance(route, APIRoute)]


def served_by(routes: list[APIRoute], call: Call[Any]) -> APIRoute | None:
    scope = {"type": "http", "method": call.method, "path": call.path}
    return next((route for route in routes if route.matches(scope)[0] is Match.FULL), None)


@pytest.mark.parametrize("name", sorted(SYNC))
def test_each_operation_is_a_route_answering_its_type(routes: list[APIRoute], name: str) -> None:
    call = sample_call(SYNC[name])
    route = served_by(routes, call)
    assert route is not None, f"{name}: no route serves {call.method} {call.path}"
    expected = TypeAdapter(route.response_model).json_schema() if route.response_model else {"type": "null"}
    assert call.answer.json_schema() == expected, f"{name} answers another type than {route.path}"
