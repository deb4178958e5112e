"""What the API says about tenants and their keys."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ApiKeyCreated(BaseModel):
    tenant: str
    key_id: str
    api_key: str = Field(description="Shown once; only its sha256 is stored.")
