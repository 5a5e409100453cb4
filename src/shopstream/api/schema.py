"""OpenAPI documentation for bodies the routes validate themselves from raw bytes.

The ticket routes parse the body with pydantic's ``model_validate_json`` (strict JSON
rules, one pass, no intermediate dict), so FastAPI does not see a body parameter; these
helpers put the pydantic schemas into the OpenAPI document by hand.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_REF = "#/components/schemas/{model}"


def json_body(schema: dict[str, Any], example: object) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON request body has this schema.

    ``/docs`` starts "Try it out" from ``example``.
    """
    body = {"schema": schema, "example": example}
    return {"requestBody": {"required": True, "content": {"application/json": body}}}


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def document_models(app: FastAPI, *models: type[BaseModel]) -> None:
    """Add ``models`` (and the models they use) to the app's OpenAPI components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                schema = model.model_json_schema(ref_template=_REF)
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
