"""Opaque identifiers with a type prefix (``mdl_…``, ``ds_…``, ``job_…``)."""

from __future__ import annotations

import secrets

PREFIXES = {"model": "mdl", "dataset": "ds", "job": "job", "tenant": "ten", "key": "key"}


def new_id(kind: str) -> str:
    return f"{PREFIXES[kind]}_{secrets.token_hex(12)}"
