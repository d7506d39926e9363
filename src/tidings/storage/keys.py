"""Making, hashing and sealing credentials.

* Identifiers and credentials come from :mod:`secrets` (256 bits for anything that authorises).
* Credentials that are only ever *compared* (write keys, admin tokens, data import keys) are kept
  as SHA-256 digests: they are uniformly random, so a slow password hash would buy nothing.
* API secrets must be readable again, because the server recomputes the HMAC of every signed
  request; they are sealed with AES-256-GCM under the server key, with the public key as
  associated data so a sealed secret cannot be moved to another key pair.

The server key is 32 bytes; :mod:`tidings.storage.serverkey` says where a process finds it and
how every process of one database is held to the same key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tidings.storage.records import StoreError

SERVER_KEY_BYTES = 32
_NONCE_BYTES = 12
_SEAL_VERSION = b"\x01"


def new_id(prefix: str, nbytes: int = 9) -> str:
    """A short random identifier such as ``app_3f9c0a1b2d4e5f6a7b``."""
    return f"{prefix}_{secrets.token_hex(nbytes)}"


def new_credential(prefix: str) -> str:
    """A 256-bit credential, urlsafe, with a readable kind prefix (``sk_``, ``wk_``, ...)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(credential: str) -> str:
    """The stored form of a compare-only credential (hex SHA-256)."""
    return hashlib.sha256(credential.encode("utf-8")).hexdigest()


def seal(server_key: bytes, secret: str, public_key: str) -> bytes:
    """Encrypt an API secret for storage: ``version || nonce || ciphertext+tag``."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(server_key).encrypt(nonce, secret.encode("utf-8"), public_key.encode("utf-8"))
    return _SEAL_VERSION + nonce + sealed


def unseal(server_key: bytes, blob: bytes, public_key: str) -> bytes:
    """Decrypt what :func:`seal` produced; a wrong server key raises :class:`StoreError`."""
    blob = bytes(blob)
    if blob[:1] != _SEAL_VERSION:
        raise StoreError("sealed secret has an unknown format version")
    nonce = blob[1 : 1 + _NONCE_BYTES]
    try:
        return AESGCM(server_key).decrypt(nonce, blob[1 + _NONCE_BYTES :], public_key.encode())
    except InvalidTag as exc:
        raise StoreError(
            "cannot decrypt an API secret: the server key differs from the one it was sealed with"
        ) from exc


def parse_server_key(text: str) -> bytes:
    """Read a 32-byte key written as 64 hex digits or urlsafe base64."""
    text = text.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        try:
            key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError) as exc:
            raise StoreError("server key is neither hex nor base64") from exc
    if len(key) != SERVER_KEY_BYTES:
        raise StoreError(f"server key must be {SERVER_KEY_BYTES} bytes, got {len(key)}")
    return key
