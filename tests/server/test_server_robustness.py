"""No request produces a 500: every route, fed garbage and wrong types, answers a JSON 4xx.

The route list comes from the app's own route table, so a new endpoint is covered the day it is
added. Hypothesis drives the pure validators with arbitrary JSON for the same property.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_support import Harness
from test_server_admin import campaign

from tidings.core.bounds import TimeWindow
from tidings.core.errors import InvalidInput
from tidings.core.segment import parse_message
from tidings.server.app import ROUTES
from tidings.server.auth import sign
from tidings.server.cohorts import parse_changes
from tidings.server.errors import ApiError
from tidings.server.upload import parse_upload
from tidings.server.upload_items import validate_decision, validate_event
from tidings.server.validate import settings_patch

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
ANY_TIME = TimeWindow(0, 2**53 - 1)

FIELDS = (
    "name",
    "platform",
    "settings",
    "state",
    "id",
    "type",
    "triggering",
    "targeting",
    "content",
    "events",
    "device",
    "user",
    "sessions",
    "decisions",
    "dropped",
    "appId",
    "batch",
    "event",
    "userId",
    "anonymousId",
    "properties",
    "traits",
    "context",
    "timestamp",
    "messageId",
    "partner_api_key",
    "client_secret",
    "cohort_id",
    "cohort_changes",
    "created_at",
    "kind",
    "appIds",
    "subscriptions",
    "from",
    "to",
    "ids",
    "sessionTimeoutSeconds",
    "frequencyCapping",
    "configRefreshSeconds",
    "enabled",
    "previousId",
    "groupId",
    "writeKey",
    "sentAt",
)
WRONG = (None, 0, -1, 1.5, "x", "", [], [None], {}, {"a": {"b": []}}, True, 2**63, "9" * 300)

GARBAGE: list[bytes] = [
    b"",
    b"{",
    b"[]",
    b"null",
    b"1",
    b'"text"',
    b"{}",
    b"[" * 3000 + b"]" * 3000,
    b'{"a": 1e999}',
    b'{"a": NaN}',
    b'{"a": "\xff\xfe"}',
    b'{"a": "\\ud800"}',
    b'{"a": 123456789012345678901234567890}',
    b'{"name": "a\\u0000b", "events": [{"id": "\\u0000"}], "device": {"deviceId": "d"}}',
    orjson.dumps(dict.fromkeys(FIELDS, "nul\x00")),
    orjson.dumps({"batch": [{"type": "track", "userId": "u\x00", "event": "E"}]}),
    orjson.dumps(
        {
            "events": [
                {
                    "id": "x",
                    "name": "E",
                    "type": "custom",
                    "timestamp": 1,
                    "properties": {"k\x00": 1},
                }
            ],
            "device": {"deviceId": "d"},
        }
    ),
    *(orjson.dumps(dict.fromkeys(FIELDS, w)) for w in WRONG),
    orjson.dumps({"batch": [dict.fromkeys(FIELDS, w) for w in WRONG]}),
    orjson.dumps(
        {"events": [dict.fromkeys(FIELDS, w) for w in WRONG], "device": {"deviceId": "d"}}
    ),
    orjson.dumps(
        {
            "decisions": [dict.fromkeys(FIELDS, w) for w in WRONG],
            "device": {"deviceId": "d"},
            "events": [],
        }
    ),
    orjson.dumps(
        {"cohort_changes": [{"user_ids": w, "device_ids": w, "should_remove": w} for w in WRONG]}
    ),
    *(orjson.dumps({"settings": dict.fromkeys(FIELDS, w)}) for w in WRONG),
    orjson.dumps({"frequencyCapping": {"perSession": "x", "perDay": []}}),
    orjson.dumps(campaign(triggering={"event": [], "repeat": 3, "limit": "x"}, targeting={"x": 1})),
]


def _auth(h: Harness, doc_auth: str | None, path: str, body: bytes) -> dict[str, str]:
    if doc_auth == "adminToken":
        return h.admin
    if doc_auth == "writeKey":
        return {
            "Authorization": "Basic " + base64.b64encode(f"{h.app['writeKey']}:".encode()).decode()
        }
    if doc_auth == "apiKey":
        return {"X-Api-Key": h.app["apiKeyPublic"]}
    if doc_auth == "signature":
        ts = str(int(time.time()))
        return {
            "X-Api-Key": h.app["apiKeyPublic"],
            "X-Timestamp": ts,
            "X-Request-Id": str(uuid.uuid4()),
            "X-Signature": sign(h.app["apiKeySecret"], "POST", path, body, ts),
        }
    return {}


def _garbage_with_partner_keys(h: Harness, raw: bytes) -> bytes:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if isinstance(value, dict):
        value.update(partner_api_key="amplitude", client_secret=h.project["dataImportKey"])
        value.setdefault("cohort_id", "c1")
        return orjson.dumps(value)
    return raw


def _check(response: Any, context: str) -> None:
    assert response.status_code < 500, context + " -> " + response.text
    assert "x-server-time" in response.headers, context
    if response.status_code >= 400:
        error = orjson.loads(response.content)["error"]
        assert isinstance(error["code"], str) and error["code"], context
        assert isinstance(error["message"], str) and error["message"], context


async def test_every_route_answers_garbage_with_a_json_4xx(srv: Harness) -> None:
    sq = srv
    c = sq.client
    r = await c.post(f"/admin/api/apps/{sq.app_id}/campaigns", json=campaign(), headers=sq.admin)
    cid = r.json()["id"]
    r = await c.post(
        "/admin/api/destinations",
        json={"kind": "amplitude", "appIds": [sq.app_id], "settings": {}},
        headers=sq.admin,
    )
    did = r.json()["id"]
    await sq.client.post(
        "/partners/amplitude/cohorts",
        json={
            "partner_api_key": "a",
            "client_secret": sq.project["dataImportKey"],
            "cohort_id": "c1",
            "name": "n",
        },
    )
    ids = {
        "project_id": sq.project["id"],
        "app_id": sq.app_id,
        "campaign_id": cid,
        "id": did,
        "api_key_public": "pk_missing",
        "write_key": "wk_missing",
    }
    checked = 0
    for doc, _handler in ROUTES:
        real_path = doc.path
        for name, value in ids.items():
            real_path = real_path.replace("{" + name + "}", value)
        bodies = GARBAGE if doc.method in ("POST", "PUT", "PATCH") else [b""]
        for raw in bodies:
            body = _garbage_with_partner_keys(sq, raw) if doc.auth == "partner" else raw
            for with_auth in (True, False):
                headers = _auth(sq, doc.auth, real_path, body) if with_auth else {}
                r = await c.request(doc.method, real_path, content=body, headers=headers)
                _check(r, f"{doc.method} {real_path} {body[:80]!r} auth={with_auth}")
                checked += 1
        # and the wrong path parameters
        if "{" in doc.path:
            bogus = doc.path
            for name in ids:
                bogus = bogus.replace("{" + name + "}", "does-not-exist")
            r = await c.request(
                doc.method, bogus, content=b"{}", headers=_auth(sq, doc.auth, bogus, b"{}")
            )
            _check(r, f"{doc.method} {bogus}")
    assert checked > 1000


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
field_maps = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=field_maps | st.dictionaries(st.text(max_size=10), json_values, max_size=6))
def test_upload_validation_only_raises_api_errors(body: dict[str, Any]) -> None:
    try:
        upload = parse_upload(body, "app", 1000, window=ANY_TIME)
    except ApiError as exc:
        assert 400 <= exc.status < 500
        assert exc.message
    else:
        assert len(upload.events) + len(upload.rejected) == len(body["events"])


@settings(max_examples=200, deadline=None)
@given(item=json_values | field_maps)
def test_item_validators_only_raise_invalid_input(item: Any) -> None:
    for validate in (validate_event, validate_decision):
        try:
            validate(item, ANY_TIME)
        except InvalidInput as exc:
            assert str(exc)


@settings(max_examples=200, deadline=None)
@given(message=json_values | field_maps, kind=st.sampled_from([None, "track", "page", "alias"]))
def test_segment_parsing_only_raises_invalid_input(message: Any, kind: str | None) -> None:
    try:
        parsed = parse_message(message, msg_type=kind, received_ms=1, new_id="generated")
    except InvalidInput as exc:
        assert str(exc)
    else:
        assert parsed.event.id
        orjson.dumps(parsed.message)


@settings(max_examples=100, deadline=None)
@given(raw=json_values | field_maps)
def test_admin_body_validators_only_raise_api_errors(raw: Any) -> None:
    for check in (
        lambda: parse_changes(raw, 1000),
        lambda: settings_patch(raw if isinstance(raw, dict) else {"x": raw}),
    ):
        try:
            check()
        except ApiError as exc:
            assert exc.status == 400
