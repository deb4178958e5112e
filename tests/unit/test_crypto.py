"""Blob sealing (STREAM over AES-256-GCM) and the per-tenant key envelope."""

from __future__ import annotations

import base64
import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.crypto import (
    HEADER_BYTES,
    SEALED_SEGMENT_BYTES,
    SEGMENT_BYTES,
    BlobIntegrityError,
    TenantKeyring,
    decrypt_stream,
    encrypt_file,
    new_data_key,
    parse_master_key,
    plaintext_size,
    unwrap_data_key,
    wrap_data_key,
)

KEY = new_data_key()


def seal(payload: bytes, blob_key: str = "ten_a/models/mdl_1", key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    encrypt_file(key, blob_key, io.BytesIO(payload), out)
    return out.getvalue()


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def open_sealed(sealed: bytes, blob_key: str = "ten_a/models/mdl_1", key: bytes = KEY, chunk: int = 65536) -> bytes:
    return b"".join(decrypt_stream(key, blob_key, chunked(sealed, chunk)))


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 2 * SEGMENT_BYTES, 2 * SEGMENT_BYTES + 7]
)
def test_round_trip_at_segment_edges(size):
    payload = os.urandom(size)
    sealed = seal(payload)
    assert size < 64 or payload[:64] not in sealed
    assert plaintext_size(len(sealed)) == size
    for chunk in (1000, SEALED_SEGMENT_BYTES, 3 * 1024 * 1024):
        assert open_sealed(sealed, chunk=chunk) == payload


@settings(max_examples=40, deadline=None)
@given(payload=st.binary(max_size=4096), chunk=st.integers(1, 5000))
def test_round_trip_any_chunking(payload, chunk):
    assert open_sealed(seal(payload), chunk=chunk) == payload


def test_same_plaintext_seals_differently():
    assert seal(b"x" * 100) != seal(b"x" * 100)


def test_tampering_is_detected():
    sealed = bytearray(seal(os.urandom(3000)))
    sealed[HEADER_BYTES + 10] ^= 1
    with pytest.raises(BlobIntegrityError, match="failed authentication"):
        open_sealed(bytes(sealed))


def test_truncation_at_a_segment_boundary_is_detected():
    sealed = seal(os.urandom(2 * SEGMENT_BYTES + 5))
    with pytest.raises(BlobIntegrityError):
        open_sealed(sealed[: HEADER_BYTES + 2 * SEALED_SEGMENT_BYTES])
    with pytest.raises(BlobIntegrityError):
        open_sealed(sealed[: HEADER_BYTES + SEALED_SEGMENT_BYTES])


def test_segments_cannot_be_reordered():
    sealed = seal(os.urandom(2 * SEGMENT_BYTES))
    header, first, second = (
        sealed[:HEADER_BYTES],
        sealed[HEADER_BYTES : HEADER_BYTES + SEALED_SEGMENT_BYTES],
        sealed[HEADER_BYTES + SEALED_SEGMENT_BYTES :],
    )
    with pytest.raises(BlobIntegrityError):
        open_sealed(header + second + first)


def test_blob_cannot_move_to_another_key_or_tenant():
    sealed = seal(b"weights")
    with pytest.raises(BlobIntegrityError):
        open_sealed(sealed, blob_key="ten_a/models/mdl_2")
    with pytest.raises(BlobIntegrityError):
        open_sealed(sealed, key=new_data_key())


def test_plaintext_blob_is_refused():
    with pytest.raises(BlobIntegrityError, match="not an encrypted"):
        open_sealed(b"\x08\x07onnx model bytes" * 10)


def test_wrapped_data_key_is_bound_to_master_and_tenant():
    master, other = os.urandom(32), os.urandom(32)
    wrapped = wrap_data_key(master, "ten_a", KEY)
    assert unwrap_data_key(master, "ten_a", wrapped) == KEY
    with pytest.raises(BlobIntegrityError, match="wrong or rotated"):
        unwrap_data_key(other, "ten_a", wrapped)
    with pytest.raises(BlobIntegrityError):
        unwrap_data_key(master, "ten_b", wrapped)


def test_keyring_creates_once_and_respects_a_concurrent_winner():
    master = os.urandom(32)
    rows: dict[str, str] = {}
    stores: list[str] = []

    def store(tenant: str, wrapped: str) -> str:
        stores.append(tenant)
        return rows.setdefault(tenant, wrapped)

    rows["ten_b"] = wrap_data_key(master, "ten_b", KEY)  # created earlier by another process
    keyring = TenantKeyring(master, rows.get, store)
    first = keyring.data_key("ten_a")
    assert keyring.data_key("ten_a") == first and stores == ["ten_a"]
    assert keyring.data_key("ten_b") == KEY and first != KEY


def test_master_key_parsing():
    raw = os.urandom(32)
    assert parse_master_key(base64.b64encode(raw).decode()) == raw
    assert parse_master_key(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
    with pytest.raises(ValueError, match="32 bytes"):
        parse_master_key(base64.b64encode(b"short").decode())
