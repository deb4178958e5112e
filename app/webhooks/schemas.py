"""What the API says about webhooks."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WebhookSecret(BaseModel):
    secret: str = Field(description="HMAC-SHA256 key for the `Slimline-Signature` header of this tenant's webhooks.")
