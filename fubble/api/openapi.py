"""The OpenAPI document, describing what the wire really carries.

FastAPI documents a response field typed ``Decimal`` the way pydantic serializes it, as a JSON string; fubble writes
every ``Decimal`` as a JSON number with its exact digits (:mod:`fubble.api.json`). The schema is therefore generated
with a JSON-schema generator that documents decimals in responses as ``{"type": "number"}``, for every route at once.
(Request fields carry their own schema: see :mod:`fubble.api.fields`.)
"""

from __future__ import annotations

import threading
from typing import Any

import fastapi._compat.v2 as fastapi_schema
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

_LOCK = threading.Lock()


class ExactDecimalJsonSchema(fastapi_schema.GenerateJsonSchema):
    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        if self.mode == "serialization":
            return {"type": "number"}
        return super().decimal_schema(schema)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document of ``app``, generated with :class:`ExactDecimalJsonSchema`."""
    with _LOCK:
        original = fastapi_schema.GenerateJsonSchema
        setattr(fastapi_schema, "GenerateJsonSchema", ExactDecimalJsonSchema)  # noqa: B010  (FastAPI has no hook)
        try:
            return get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        finally:
            setattr(fastapi_schema, "GenerateJsonSchema", original)  # noqa: B010
