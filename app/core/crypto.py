"""Blobs encrypted at rest with a per-tenant data key (envelope encryption).

* A master key (``SLIMLINE_ENCRYPTION_KEY``, 32 random bytes, base64) never touches storage. It
  wraps one random 256-bit data key per tenant (AES-256-GCM, the tenant id as associated data);
  the wrapped key lives in ``tenants.data_key_wrapped``. Rotating the master key re-wraps those
  rows only; deleting a tenant's wrapped key makes all of that tenant's blobs unreadable.
* A blob is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015) over AES-256-GCM:
  a header with a random salt, a per-blob key ``HKDF-SHA256(data key, salt)``, then the plaintext
  in 1 MiB segments, each sealed with nonce ``counter (11 bytes) || last-segment flag (1 byte)``
  and the blob's storage key as associated data. Segments cannot be reordered, dropped, truncated
  at a segment boundary or moved to another blob or tenant without failing authentication.
* Short secrets kept in the database (the tenant's webhook signing secret) are sealed with the same
  data key (``seal_secret``: AES-256-GCM under an HKDF subkey, the tenant id and the secret's purpose
  as associated data), so re-wrapping the data keys on a master-key rotation covers them too.

Streaming both ways: neither side holds more than one segment in memory.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"SLMENC01"
SALT_BYTES = 16
HEADER_BYTES = len(MAGIC) + SALT_BYTES
SEGMENT_BYTES = 1024 * 1024
TAG_BYTES = 16
SEALED_SEGMENT_BYTES = SEGMENT_BYTES + TAG_BYTES
_MAX_SEGMENTS = 2**88  # 11-byte counter


class BlobIntegrityError(Exception):
    """A stored blob failed authentication: tampered, truncated, or sealed under another key."""


def parse_master_key(text: str) -> bytes:
    """Decode ``SLIMLINE_ENCRYPTION_KEY``: exactly 32 bytes, base64 (standard or url-safe)."""
    try:
        key = base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4), altchars=b"-_", validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be base64") from exc
    if len(key) != 32:
        raise ValueError(
            f"must decode to 32 bytes (got {len(key)}); "
            "generate one with `python -c 'import os, base64; print(base64.b64encode(os.urandom(32)).decode())'`"
        )
    return key


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_data_key(master: bytes, tenant_id: str, data_key: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(master).encrypt(nonce, data_key, tenant_id.encode())
    return "v1:" + base64.b64encode(nonce + sealed).decode()


def unwrap_data_key(master: bytes, tenant_id: str, wrapped: str) -> bytes:
    version, _, payload = wrapped.partition(":")
    if version != "v1":
        raise BlobIntegrityError(f"unknown wrapped-key version {version!r}")
    raw = base64.b64decode(payload)
    try:
        return AESGCM(master).decrypt(raw[:12], raw[12:], tenant_id.encode())
    except InvalidTag as exc:
        raise BlobIntegrityError(
            "the tenant's data key does not open with SLIMLINE_ENCRYPTION_KEY (wrong or rotated master key?)"
        ) from exc


def unwrap_with_either(master: bytes, previous: bytes | None, tenant_id: str, wrapped: str) -> bytes:
    """Unwrap with the current master key, or with the previous one during a rotation."""
    try:
        return unwrap_data_key(master, tenant_id, wrapped)
    except BlobIntegrityError:
        if previous is None:
            raise
        return unwrap_data_key(previous, tenant_id, wrapped)


SEALED_SECRET_PREFIX = "sealed:v1:"


def _secret_cipher(data_key: bytes) -> AESGCM:
    subkey = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"slimline secret v1").derive(data_key)
    return AESGCM(subkey)


def is_sealed_secret(value: str) -> bool:
    return value.startswith(SEALED_SECRET_PREFIX)


def seal_secret(data_key: bytes, tenant_id: str, purpose: str, plaintext: str) -> str:
    """Seal a short secret for the database: ``sealed:v1:<base64(nonce || ciphertext || tag)>``."""
    nonce = os.urandom(12)
    sealed = _secret_cipher(data_key).encrypt(nonce, plaintext.encode(), f"{tenant_id}\0{purpose}".encode())
    return SEALED_SECRET_PREFIX + base64.b64encode(nonce + sealed).decode()


def open_secret(data_key: bytes, tenant_id: str, purpose: str, sealed: str) -> str:
    """The plaintext of ``seal_secret``'s output; BlobIntegrityError if it was sealed for another tenant or key."""
    if not is_sealed_secret(sealed):
        raise BlobIntegrityError("not a sealed secret")
    raw = base64.b64decode(sealed.removeprefix(SEALED_SECRET_PREFIX))
    try:
        return _secret_cipher(data_key).decrypt(raw[:12], raw[12:], f"{tenant_id}\0{purpose}".encode()).decode()
    except InvalidTag as exc:
        raise BlobIntegrityError(f"the tenant's sealed {purpose} does not open with its data key") from exc


def _blob_cipher(data_key: bytes, salt: bytes) -> AESGCM:
    blob_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"slimline blob v1").derive(data_key)
    return AESGCM(blob_key)


def _nonce(counter: int, last: bool) -> bytes:
    if counter >= _MAX_SEGMENTS:
        raise OverflowError("blob too large for the segment counter")
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_file(data_key: bytes, blob_key: str, source: BinaryIO, dest: BinaryIO) -> None:
    """Seal ``source`` into ``dest`` (both binary file objects), one segment in memory at a time."""
    salt = os.urandom(SALT_BYTES)
    cipher = _blob_cipher(data_key, salt)
    aad = blob_key.encode()
    dest.write(MAGIC + salt)
    counter = 0
    segment = source.read(SEGMENT_BYTES)
    while True:
        following = source.read(SEGMENT_BYTES)
        last = not following
        dest.write(cipher.encrypt(_nonce(counter, last), segment, aad))
        if last:
            return
        segment, counter = following, counter + 1


def decrypt_stream(data_key: bytes, blob_key: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Open a sealed blob arriving in arbitrary chunks; yields plaintext segments as they verify."""
    buffer = bytearray()
    source = iter(chunks)
    cipher: AESGCM | None = None
    aad = blob_key.encode()
    counter = 0
    exhausted = False
    while True:
        # Keep one byte more than a sealed segment so we know whether the current one is the last.
        while not exhausted and len(buffer) <= (HEADER_BYTES if cipher is None else SEALED_SEGMENT_BYTES):
            try:
                buffer += next(source)
            except StopIteration:
                exhausted = True
        if cipher is None:
            if len(buffer) < HEADER_BYTES or bytes(buffer[: len(MAGIC)]) != MAGIC:
                raise BlobIntegrityError(f"blob {blob_key!r} is not an encrypted Slimline blob")
            cipher = _blob_cipher(data_key, bytes(buffer[len(MAGIC) : HEADER_BYTES]))
            del buffer[:HEADER_BYTES]
            continue
        last = exhausted and len(buffer) <= SEALED_SEGMENT_BYTES
        take = len(buffer) if last else SEALED_SEGMENT_BYTES
        if take < TAG_BYTES:
            raise BlobIntegrityError(f"blob {blob_key!r} is truncated")
        try:
            plain = cipher.decrypt(_nonce(counter, last), bytes(buffer[:take]), aad)
        except InvalidTag as exc:
            raise BlobIntegrityError(
                f"blob {blob_key!r} failed authentication at segment {counter} (tampered, truncated or moved)"
            ) from exc
        del buffer[:take]
        if plain:
            yield plain
        if last:
            return
        counter += 1


def plaintext_size(sealed_size: int) -> int:
    body = sealed_size - HEADER_BYTES
    segments = max(1, -(-body // SEALED_SEGMENT_BYTES))
    return body - segments * TAG_BYTES


class TenantKeyring:
    """Per-tenant data keys, created on first use, cached unwrapped in this process."""

    def __init__(
        self,
        master: bytes,
        load: Callable[[str], str | None],
        store: Callable[[str, str], str],
        previous: bytes | None = None,
    ) -> None:
        # load(tenant) -> wrapped key or None; store(tenant, wrapped) -> the wrapped key that won
        # (another process may have created one first). ``previous``: the master key being rotated out.
        self._master = master
        self._previous = previous
        self._load = load
        self._store = store
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def data_key(self, tenant_id: str) -> bytes:
        with self._lock:
            if (key := self._cache.get(tenant_id)) is not None:
                return key
            wrapped = self._load(tenant_id)
            if wrapped is None:
                wrapped = self._store(tenant_id, wrap_data_key(self._master, tenant_id, new_data_key()))
            key = unwrap_with_either(self._master, self._previous, tenant_id, wrapped)
            self._cache[tenant_id] = key
            return key


def encrypt_path(data_key: bytes, blob_key: str, source: Path, dest: Path) -> None:
    with source.open("rb") as plain, dest.open("wb") as sealed:
        encrypt_file(data_key, blob_key, plain, sealed)
