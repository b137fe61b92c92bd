"""The contract's JSON Schemas, public like ``/problems/{slug}``: documentation needs no key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.routes import operation_id
from dispatcher.schema import json_schema

router = APIRouter(tags=["contract"], generate_unique_id_function=operation_id)


@router.get(
    "/v1/schemas/{name}",
    response_model=dict[str, Any],
    responses={404: {"description": "no such schema (the names are problem, plan, order)"}},
)
def get_schema(name: str) -> JSONResponse:
    """The JSON Schema (draft 2020-12) of the `problem`, `plan` or `order` document
    (docs/contract.md); the same as `dispatch schema <name>`. No API key needed."""
    return JSONResponse(json_schema(name))
