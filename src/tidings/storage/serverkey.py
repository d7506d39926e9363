"""Which server key seals a database's API secrets, and the check that every process agrees.

API secrets are sealed with a 32-byte server key (:mod:`tidings.storage.keys`). Every process
that opens one database must hold the same key; one with another key seals new secrets that the
others cannot read, and reads none of theirs. So the database remembers a *fingerprint* of its
key (an HMAC of a fixed label under the key: it identifies the key without revealing it), and
opening a database with any other key fails at once with a message that says how to give the
right one.

A process finds its key in the first of these places:

1. a key file named by the caller (``tidings ... --key-file PATH``);
2. ``TIDINGS_SECRET_KEY`` (64 hex digits or urlsafe base64);
3. the file named by ``TIDINGS_SECRET_KEY_FILE``;
4. the default key file: ``<database path>.key`` beside a SQLite database, and
   ``$XDG_CONFIG_HOME/tidings/server.key`` (``~/.config/tidings/server.key``) for PostgreSQL, so
   that every command a user runs on a PostgreSQL database shares one key whatever the current
   folder.

When none exists, a new key is made, but it is written to the default file (mode 0600) only if
the database has no key yet: a database whose key is elsewhere gets an error, never a second key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tidings.storage.keys import SERVER_KEY_BYTES, parse_server_key, unseal
from tidings.storage.records import ServerKeyMismatch, StoreError

if TYPE_CHECKING:
    from tidings.storage.sqlstore import SqlStore

KEY_ENV = "TIDINGS_SECRET_KEY"
KEY_FILE_ENV = "TIDINGS_SECRET_KEY_FILE"
INSTALLATION_COLLECTION = "installation"
"""The documents collection that holds facts about the database itself."""
SERVER_KEY_DOCUMENT = "server-key"
_FINGERPRINT_LABEL = b"tidings server key fingerprint v1"
_HOW_TO_GIVE = "--key-file PATH, TIDINGS_SECRET_KEY_FILE or TIDINGS_SECRET_KEY"


def fingerprint(key: bytes) -> str:
    """A short public name for a key: 16 hex digits of HMAC-SHA256(key, fixed label)."""
    return hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class FoundKey:
    """A server key and where it came from (for messages)."""

    key: bytes
    origin: str
    new_file: Path | None = None
    """Set when the key was made just now: it is written here once the database accepts it."""


def postgres_key_file() -> Path:
    """The default key file for PostgreSQL databases: one per user, whatever the folder."""
    base = os.environ.get("XDG_CONFIG_HOME")
    if not base:
        try:
            base = str(Path.home() / ".config")
        except RuntimeError:  # no HOME and no password entry: a bare service account
            raise StoreError(
                f"no home folder for the default key file: give the key with {_HOW_TO_GIVE}"
            ) from None
    return Path(base) / "tidings" / "server.key"


def find_server_key(default_file: Callable[[], Path], key_file: Path | None = None) -> FoundKey:
    """The key from the first place that has one (see the module docstring), or a new one.

    ``default_file`` is asked for only when neither the caller nor the environment names a key.
    """
    if key_file is not None:
        return _read_key_file(key_file, "--key-file")
    env = os.environ.get(KEY_ENV)
    if env:
        return FoundKey(parse_server_key(env), KEY_ENV)
    named = os.environ.get(KEY_FILE_ENV)
    if named:
        return _read_key_file(Path(named), KEY_FILE_ENV)
    path = default_file().absolute()
    if path.exists():
        return _read_key_file(path, "key file")
    return FoundKey(os.urandom(SERVER_KEY_BYTES), f"new key for {path}", new_file=path)


def load_server_key(default_file: Path) -> bytes:
    """The key :func:`find_server_key` finds, writing a new one to ``default_file`` at once."""
    found = find_server_key(lambda: default_file)
    return _save(found).key if found.new_file is not None else found.key


def _read_key_file(path: Path, via: str) -> FoundKey:
    try:
        text = path.read_text(encoding="ascii")
    except OSError as exc:
        raise StoreError(f"{via} {path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise StoreError(f"{via} {path}: not a key file (hex or base64 text)") from None
    try:
        return FoundKey(parse_server_key(text), f"{path.absolute()}")
    except StoreError as exc:
        raise StoreError(f"{via} {path}: {exc}") from None


def _save(found: FoundKey) -> FoundKey:
    """Write a new key to its file; if another process wrote one first, that one wins."""
    path = found.new_file
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path, "key file")
    try:
        os.write(fd, found.key.hex().encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return replace(found, origin=str(path))


async def bind_server_key(store: SqlStore, found: FoundKey, shown_url: str) -> FoundKey:
    """Check ``found`` against the database's key, recording it if the database has none yet.

    Returns the key in use (another process may have written the default key file first).
    Raises :class:`ServerKeyMismatch` when the database belongs to another key.
    """
    stored = await store.get_document(INSTALLATION_COLLECTION, SERVER_KEY_DOCUMENT)
    if stored is None:
        await _check_legacy_secrets(store, found, shown_url)
        if found.new_file is not None:
            found = _save(found)
        stored = await store.put_document_if_absent(
            INSTALLATION_COLLECTION, SERVER_KEY_DOCUMENT, {"fingerprint": fingerprint(found.key)}
        )
    expected = str(stored.body.get("fingerprint"))
    if hmac.compare_digest(expected, fingerprint(found.key)):
        return found
    if found.new_file is not None:
        raise ServerKeyMismatch(
            f"no server key for {shown_url} at {found.new_file}: the database's key has "
            f"fingerprint {expected}; give that key with {_HOW_TO_GIVE}"
        )
    raise ServerKeyMismatch(
        f"the server key from {found.origin} (fingerprint {fingerprint(found.key)}) is not the "
        f"key of {shown_url} (fingerprint {expected}); give the database's key with {_HOW_TO_GIVE}"
    )


async def _check_legacy_secrets(store: SqlStore, found: FoundKey, shown_url: str) -> None:
    """A database from before fingerprints: its sealed secrets must open with this key."""
    sample = await store.any_sealed_secret()
    if sample is None:
        return
    public_key, blob = sample
    try:
        unseal(found.key, blob, public_key)
    except StoreError:
        where = f"at {found.new_file}" if found.new_file is not None else f"from {found.origin}"
        raise ServerKeyMismatch(
            f"the API secrets of {shown_url} are sealed with another key than the one {where}; "
            f"give the key it was used with (before 0.2.0 a PostgreSQL key was ./tidings.key "
            f"in the folder a command ran in) with {_HOW_TO_GIVE}"
        ) from None
