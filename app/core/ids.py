"""Opaque identifiers with a type prefix (``mdl_…``, ``ds_…``, ``job_…``)."""

from __future__ import annotations

import secrets

PREFIXES = {"model": "mdl", "dataset": "ds", "job": "job", "tenant": "ten", "key": "key"}


def new_id(kind: str) -> str:
    return f"{PREFIXES[kind]}_{secrets.token_hex(12)}"


def could_exist(value: str) -> bool:
    """False for a string no stored id can equal (a NUL byte, which Postgres text cannot even hold)."""
    return "\x00" not in value and len(value) <= 255
