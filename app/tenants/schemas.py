"""What the API says about tenants and their keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ApiKeyRead(BaseModel):
    """A key as its tenant may see it: never the key itself, nor its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str | None = Field(description="A label given when the key was created.")
    prefix: str = Field(description="The key's first 8 characters, to recognise it.")
    created_at: datetime
    expires_at: datetime | None = Field(description="After this instant the key is refused; null: never expires.")
    revoked_at: datetime | None = Field(description="When the key was revoked; null: it is active.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyRead]


class ApiKeyCreated(BaseModel):
    tenant: str
    key_id: str
    api_key: str = Field(description="Shown once; only its sha256 is stored.")
