"""The OpenAPI document, describing what the wire really carries.

FastAPI documents a response field typed ``Decimal`` the way pydantic serializes it, as a JSON string; fubble writes
every ``Decimal`` as a JSON number with its exact digits (:mod:`fubble.api.json`). The schema is therefore generated
with a JSON-schema generator that documents decimals in responses as ``{"type": "number"}``, for every route at once.
(Request fields carry their own schema: see :mod:`fubble.api.fields`.)
"""

from __future__ import annotations

import re
import threading
from typing import Any

import fastapi._compat.v2 as fastapi_schema
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from fubble.api.fields import JSON_VALUE
from fubble.api.json import FREE_NUMBER_SCHEMA

_LOCK = threading.Lock()


class ExactDecimalJsonSchema(fastapi_schema.GenerateJsonSchema):
    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        if self.mode == "serialization":
            return {"type": "number"}
        return super().decimal_schema(schema)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document of ``app``, generated with :class:`ExactDecimalJsonSchema`, describing the server
    as configured: without authentication (``auth_enabled`` off) no operation declares a key or a 401/403."""
    with _LOCK:
        original = fastapi_schema.GenerateJsonSchema
        setattr(fastapi_schema, "GenerateJsonSchema", ExactDecimalJsonSchema)  # noqa: B010  (FastAPI has no hook)
        try:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        finally:
            setattr(fastapi_schema, "GenerateJsonSchema", original)  # noqa: B010
    settings = getattr(app.state, "settings", None)
    if settings is not None and not settings.auth_enabled:
        _without_authentication(document)
    _query_without_null(document)
    document.setdefault("components", {}).setdefault("schemas", {})["JsonValue"] = JSON_VALUE_SCHEMA
    add_links(document)
    return document


# Any JSON value whose numbers are within fubble.api.json's limits for free-form JSON (JSON_VALUE of fubble.api.fields).
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "description": "Any JSON value; numbers have at most 40 decimal places and are less than 1e41 in magnitude.",
    "anyOf": [
        {"type": ["string", "boolean", "null"]},
        FREE_NUMBER_SCHEMA,
        {"type": "array", "items": {"$ref": JSON_VALUE}},
        {"type": "object", "additionalProperties": {"$ref": JSON_VALUE}},
    ],
}


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in document.get("paths", {}).values() for op in item.values() if isinstance(op, dict)]


def _without_authentication(document: dict[str, Any]) -> None:
    for operation in _operations(document):
        operation.pop("security", None)
        for code in ("401", "403"):
            operation.get("responses", {}).pop(code, None)


def _query_without_null(document: dict[str, Any]) -> None:
    """A query string cannot carry JSON ``null``: an optional query parameter is left out to mean none (``?x=null``
    is the text ``null``), so its schema does not offer ``null`` (FastAPI declares ``X | None`` as nullable)."""
    for operation in _operations(document):
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            options = schema.get("anyOf")
            if parameter.get("in") != "query" or not options or {"type": "null"} not in options:
                continue
            rest = [option for option in options if option != {"type": "null"}]
            del schema["anyOf"]
            if len(rest) == 1:
                schema.update(rest[0])
            else:
                schema["anyOf"] = rest


_WRITES = ("post", "put")


def _path_parameters(path: str) -> list[str]:
    return re.findall(r"{([^}:]+)}", path)


def _returns_id(document: dict[str, Any], response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = document.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return "id" in schema.get("properties", {})


def _created_parameter(paths: dict[str, Any], path: str) -> str | None:
    """The path parameter naming what ``POST path`` creates: ``customer_id`` for ``/customers/``, as
    ``/customers/{customer_id}`` names the created object; None if no path names the items of ``path``."""
    prefix = path.rstrip("/") + "/{"
    for other in paths:
        if other.startswith(prefix):
            return other[len(prefix) :].split("}", 1)[0].split(":", 1)[0]
    return None


def add_links(document: dict[str, Any]) -> None:
    """OpenAPI ``links`` from every write to the operations that take the ids it produces or names, derived from the
    paths alone, so that a client (or a stateful test) can follow them:

    * ``POST C`` whose answer has an ``id`` creates what ``C/{name}`` names: it links to every operation with a path
      parameter ``name``, with ``name`` taken from the answer's ``id``;
    * a write also hands on its own path parameters (``$request.path.<p>``) to the operations taking them.
    """
    paths: dict[str, Any] = document.get("paths", {})
    targets = [
        (op["operationId"], set(_path_parameters(path)))
        for path, item in paths.items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    ]
    for path, item in paths.items():
        own = _path_parameters(path)
        for method in _WRITES:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            for code, response in operation.get("responses", {}).items():
                if not code.startswith("2"):
                    continue
                created = (
                    _created_parameter(paths, path) if method == "post" and _returns_id(document, response) else None
                )
                links: dict[str, Any] = {}
                for target, taken in targets:
                    parameters = {p: f"$request.path.{p}" for p in own if p in taken}
                    if created is not None and created in taken:
                        parameters[created] = "$response.body#/id"
                    if parameters and target != operation.get("operationId"):
                        links[target] = {"operationId": target, "parameters": parameters}
                if links:
                    response["links"] = links
