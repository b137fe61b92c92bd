"""``GET /v1/whoami``: the caller's key id and role (the board decides what to offer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.deps import require
from api.routes import operation_id
from api.services.keys import Principal

router = APIRouter(prefix="/v1", tags=["admin"], generate_unique_id_function=operation_id)
AnyKey = Annotated[Principal, Depends(require("ticketing"))]


class WhoAmI(BaseModel):
    key_id: str = Field(description="the API key's public id")
    role: str = Field(description="ticketing, coordinator or admin")


@router.get("/whoami", response_model=WhoAmI)
def whoami(principal: AnyKey) -> WhoAmI:
    """The calling key's public id and role. Any key (role `ticketing` or higher)."""
    return WhoAmI(key_id=principal.key_id, role=principal.role)
