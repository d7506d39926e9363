"""Keys: rotation, revocation, hashed and sealed storage at rest."""

from __future__ import annotations

import os

import pytest
from storage_support import Backend, new_app, run

from tidings.storage import StoreError, tenants
from tidings.storage.keys import digest, parse_server_key, seal, unseal


def test_app_credentials_work_once_created(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            project = await store.create_project("p")
            creds = await store.create_app(project.id, "Shop", "android")
            assert set(creds.to_json()) == {"appId", "apiKeyPublic", "apiKeySecret", "writeKey"}
            key = await store.signing_key(creds.api_key_public)
            assert key is not None
            assert key.secret == creds.api_key_secret.encode()
            assert (key.app_id, key.project_id) == (creds.app_id, project.id)
            app = await store.app_for_write_key(creds.write_key)
            assert app is not None and app.id == creds.app_id and app.platform == "android"
            # Kinds never cross over.
            assert await store.signing_key(creds.write_key) is None
            assert await store.app_for_write_key(creds.api_key_public) is None
            assert not await store.verify_admin_token(creds.write_key)

    run(go())


def test_rotation_keeps_old_key_until_revoked(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            creds = await new_app(store)
            new = await store.rotate_keys(creds.app_id)
            assert new.api_key_public != creds.api_key_public
            assert await store.signing_key(creds.api_key_public) is not None
            assert await store.signing_key(new.api_key_public) is not None
            assert await store.revoke_key(creds.app_id, creds.api_key_public)
            assert await store.signing_key(creds.api_key_public) is None
            assert await store.signing_key(new.api_key_public) is not None
            assert not await store.revoke_key(creds.app_id, creds.api_key_public)  # already
            assert not await store.revoke_key("app_other", new.api_key_public)  # wrong app
            listed = await store.list_keys(creds.app_id)
            assert [(k.api_key_public, k.active) for k in listed] == [
                (creds.api_key_public, False),
                (new.api_key_public, True),
            ]
            with pytest.raises(LookupError):
                await store.rotate_keys("app_missing")

    run(go())


def test_write_key_rotation_and_revocation(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            creds = await new_app(store)
            second = await store.rotate_write_key(creds.app_id)
            assert await store.app_for_write_key(second) is not None
            assert await store.revoke_write_key(creds.app_id, creds.write_key)
            assert await store.app_for_write_key(creds.write_key) is None
            assert await store.app_for_write_key(second) is not None
            assert not await store.revoke_write_key(creds.app_id, creds.write_key)

    run(go())


def test_admin_tokens(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            token = await store.create_admin_token("ops")
            other = await store.create_admin_token()
            assert await store.verify_admin_token(token)
            assert not await store.verify_admin_token(token + "x")
            assert await store.revoke_admin_token(token)
            assert not await store.verify_admin_token(token)
            assert await store.verify_admin_token(other)
            assert not await store.revoke_admin_token(token)

    run(go())


def test_data_import_key_rotation(backend: Backend) -> None:
    async def go() -> None:
        async with await backend.open() as store:
            project = await store.create_project("p")
            assert project.data_import_key
            found = await store.project_for_import_key(project.data_import_key)
            assert found is not None and found.id == project.id
            assert found.data_import_key is None  # never readable again
            fresh = await store.rotate_data_import_key(project.id)
            assert await store.project_for_import_key(project.data_import_key) is None
            assert await store.project_for_import_key(fresh) is not None

    run(go())


def test_no_credential_is_stored_in_plain_sight(sql_backend: Backend) -> None:
    async def go() -> tuple[list[str], list[str]]:
        async with await sql_backend.open() as store:
            project = await store.create_project("p")
            creds = await store.create_app(project.id, "a", "ios")
            pair = await store.rotate_keys(creds.app_id)
            token = await store.create_admin_token()
            secrets = [
                creds.api_key_secret,
                pair.api_key_secret,
                creds.write_key,
                token,
                project.data_import_key or "",
            ]
            hashes = [digest(creds.write_key), digest(token)]
            return secrets, hashes

    secrets, hashes = run(go())
    dump = repr(sql_backend.raw_rows())
    for secret in secrets:
        assert secret not in dump
        assert secret.encode().hex() not in dump
    for hashed in hashes:
        assert hashed in dump  # the compare-only credentials are there as digests


def test_a_store_holding_a_different_key_cannot_read_secrets(sql_backend: Backend) -> None:
    """Below the check at open (``test_storage_server_key.py``), a wrong key still never
    verifies anything: unsealing fails loudly."""

    async def go() -> None:
        async with await sql_backend.open() as store:
            creds = await new_app(store)
        async with await sql_backend.open() as store:
            store.use_server_key(os.urandom(32))
            with pytest.raises(StoreError, match="server key"):
                await store.signing_key(creds.api_key_public)

    run(go())


def test_seal_binds_the_public_key() -> None:
    key = os.urandom(32)
    blob = seal(key, "sk_secret", "pk_a")
    assert unseal(key, blob, "pk_a") == b"sk_secret"
    with pytest.raises(StoreError):
        unseal(key, blob, "pk_b")


def test_parse_server_key_forms() -> None:
    raw = bytes(range(32))
    assert parse_server_key(raw.hex()) == raw
    import base64

    assert parse_server_key(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
    with pytest.raises(StoreError):
        parse_server_key("abcd")


def test_a_revocation_by_another_process_is_seen_within_the_key_ttl(
    sql_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing keys are reused for SIGNING_KEY_TTL_SECONDS; a revocation made through another
    store (another process) is seen once that time is up, and at once by the revoking store."""

    async def go() -> None:
        monkeypatch.setattr(tenants, "SIGNING_KEY_TTL_SECONDS", 3600.0)
        async with await sql_backend.open() as server, await sql_backend.open() as admin:
            creds = await new_app(server)
            assert await server.signing_key(creds.api_key_public) is not None
            assert await admin.signing_key(creds.api_key_public) is not None
            assert await admin.revoke_key(creds.app_id, creds.api_key_public)
            assert await admin.signing_key(creds.api_key_public) is None
            # Within the TTL the other process still has the key it looked up.
            assert await server.signing_key(creds.api_key_public) is not None
            monkeypatch.setattr(tenants, "SIGNING_KEY_TTL_SECONDS", 0.0)
            async with await sql_backend.open() as fresh:
                assert await fresh.signing_key(creds.api_key_public) is None
                assert await fresh.signing_key(creds.api_key_public) is None

    run(go())
