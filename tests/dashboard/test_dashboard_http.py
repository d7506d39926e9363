"""The dashboard over plain HTTP (httpx over ASGI): sign-in, the cookie, CSRF, every page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from dash_support import AsgiHarness

from tidings.server.dashboard.session import COOKIE, csrf_token

pytestmark = pytest.mark.anyio


async def _sign_in(h: AsgiHarness) -> str:
    r = await h.client.post("/signin", data={"token": h.token, "next": "/"})
    assert r.status_code == 303
    return csrf_token(h.token)


async def _campaign(h: AsgiHarness, state: str = "Draft", **extra: Any) -> str:
    body = {
        "name": "Welcome",
        "type": "DeepLink",
        "triggering": {"event": {"name": "PurchaseCompleted", "type": "custom"}},
        "content": {"url": "app://welcome"},
        **extra,
    }
    campaign = await h.store.create_campaign(h.app_id, body, state)  # type: ignore[arg-type]
    return campaign.id


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _pages(h: AsgiHarness, campaign_id: str) -> list[str]:
    a = h.app_id
    return [
        "/",
        f"/apps/{a}/campaigns",
        f"/apps/{a}/campaigns?state=Active",
        f"/apps/{a}/campaigns/new",
        f"/campaigns/{campaign_id}",
        f"/campaigns/{campaign_id}/stats",
        f"/apps/{a}/events",
        f"/apps/{a}/stream",
        f"/apps/{a}/stream.json",
        f"/apps/{a}/destinations",
        f"/apps/{a}/streams",
        f"/apps/{a}/cohorts",
    ]


async def test_every_page_redirects_to_sign_in_when_signed_out(asgi: AsgiHarness) -> None:
    campaign_id = await _campaign(asgi)
    for path in _pages(asgi, campaign_id):
        r = await asgi.client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/signin?next="), path
    r = await asgi.client.get("/signin")
    assert r.status_code == 200
    assert 'type="password"' in r.text


async def test_every_page_answers_200_when_signed_in(asgi: AsgiHarness) -> None:
    campaign_id = await _campaign(asgi)
    await _sign_in(asgi)
    for path in _pages(asgi, campaign_id):
        r = await asgi.client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert "no-store" in r.headers["cache-control"]
    r = await asgi.client.get("/static/dashboard.css")
    assert r.status_code == 200


async def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_clears_it(
    asgi: AsgiHarness,
) -> None:
    r = await asgi.client.post("/signin", data={"token": "nope", "next": "/"})
    assert r.status_code == 401
    assert "unknown or revoked" in r.text
    assert COOKIE not in asgi.client.cookies

    r = await asgi.client.post(
        "/signin", data={"token": asgi.token, "next": f"/apps/{asgi.app_id}/events"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/apps/{asgi.app_id}/events"
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}={asgi.token}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http on loopback

    r = await asgi.client.post("/signout", data={"csrf": csrf_token(asgi.token)})
    assert r.status_code == 303
    assert r.headers["location"] == "/signin"
    assert COOKIE not in asgi.client.cookies
    assert (await asgi.client.get("/")).status_code == 303


async def test_sign_in_never_redirects_off_site(asgi: AsgiHarness) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = await asgi.client.post("/signin", data={"token": asgi.token, "next": target})
        assert r.headers["location"] == "/", target


async def test_a_revoked_token_signs_the_browser_out(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    assert (await asgi.client.get("/")).status_code == 200
    await asgi.store.revoke_admin_token(asgi.token)
    assert (await asgi.client.get("/")).status_code == 303


async def test_posts_need_the_csrf_token_and_a_same_origin(asgi: AsgiHarness) -> None:
    campaign_id = await _campaign(asgi)
    csrf = await _sign_in(asgi)
    url = f"/campaigns/{campaign_id}/state"
    r = await asgi.client.post(url, data={"state": "Active"})
    assert r.status_code == 403
    r = await asgi.client.post(url, data={"state": "Active", "csrf": "0" * 40})
    assert r.status_code == 403
    r = await asgi.client.post(
        url,
        data={"state": "Active", "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403
    assert (await asgi.store.get_campaign(campaign_id)).state == "Draft"  # type: ignore[union-attr]
    r = await asgi.client.post(
        url, data={"state": "Active", "csrf": csrf}, headers={"Origin": "http://tidings.test"}
    )
    assert r.status_code == 303
    assert (await asgi.store.get_campaign(campaign_id)).state == "Active"  # type: ignore[union-attr]


async def test_a_post_without_a_session_goes_to_sign_in(asgi: AsgiHarness) -> None:
    campaign_id = await _campaign(asgi)
    r = await asgi.client.post(f"/campaigns/{campaign_id}/delete", data={"csrf": "x"})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/signin")
    assert await asgi.store.get_campaign(campaign_id) is not None


async def test_start_stop_delete_follow_the_state_machine(asgi: AsgiHarness) -> None:
    campaign_id = await _campaign(asgi)
    csrf = await _sign_in(asgi)

    async def state(value: str) -> httpx.Response:
        return await asgi.client.post(
            f"/campaigns/{campaign_id}/state", data={"state": value, "csrf": csrf}
        )

    assert (await state("Cancel")).status_code == 409  # Draft cannot be stopped
    assert (await state("Active")).status_code == 303
    r = await asgi.client.post(f"/campaigns/{campaign_id}/delete", data={"csrf": csrf})
    assert r.status_code == 409
    assert "must be stopped" in r.text
    assert (await state("Cancel")).status_code == 303
    r = await asgi.client.post(f"/campaigns/{campaign_id}/delete", data={"csrf": csrf})
    assert r.status_code == 303
    assert await asgi.store.get_campaign(campaign_id) is None


async def test_an_invalid_stored_campaign_cannot_start(asgi: AsgiHarness) -> None:
    campaign_id = await _campaign(asgi, content=None)
    csrf = await _sign_in(asgi)
    r = await asgi.client.post(
        f"/campaigns/{campaign_id}/state", data={"state": "Active", "csrf": csrf}
    )
    assert r.status_code == 400
    assert "content.url" in r.text


def _form(csrf: str, **fields: str) -> dict[str, str]:
    base = {
        "csrf": csrf,
        "name": "Annual offer",
        "type": "DeepLink",
        "triggering.event.name": "PurchaseCompleted",
        "triggering.repeat.repeatType": "every",
        "triggering.repeat.repeatEntity": "event",
        "triggering.repeat.repeatValue": "1",
        "content.url": "app://offer",
        "action": "save",
    }
    base.update(fields)
    return base


async def test_the_editor_saves_what_the_form_describes(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    fields = {
        "targeting[0].slot": "customProperty",
        "targeting[0].customProperty.key": "plan_tier",
        "targeting[0].customProperty.valueType": "string",
        "targeting[0].customProperty.compareType": "equal",
        "targeting[0].customProperty.value": "pro",
        "triggering.event.params[0].name": "price",
        "triggering.event.params[0].valueType": "number",
        "triggering.event.params[0].compareType": ">",
        "triggering.event.params[0].value": "10",
        "triggering.limit.limit": "1",
        "triggering.limit.limitType": "device",
        "triggering.limit.interval": "30",
        "triggering.limit.intervalDimension": "day",
        "priority": "5",
        "schedule.startTime": "2026-12-01T09:30",
        "quietTime.start": "22:00",
        "quietTime.end": "07:00",
        "holdoutPercent": "10",
    }
    r = await asgi.client.post(f"/apps/{asgi.app_id}/campaigns/new", data=_form(csrf, **fields))
    assert r.status_code == 303, r.text
    campaign_id = r.headers["location"].split("/")[2].split("?")[0]
    stored = await asgi.store.get_campaign(campaign_id)
    assert stored is not None and stored.state == "Draft"
    body = dict(stored.body)
    assert body["targeting"] == [
        {
            "customProperty": {
                "key": "plan_tier",
                "valueType": "string",
                "compareType": "equal",
                "value": "pro",
            }
        }
    ]
    assert body["triggering"]["event"] == {
        "name": "PurchaseCompleted",
        "type": "custom",
        "params": [{"name": "price", "compareType": ">", "valueType": "number", "value": "10"}],
    }
    assert body["triggering"]["limit"] == {
        "limit": 1,
        "limitType": "device",
        "interval": 30,
        "intervalDimension": "day",
    }
    assert body["priority"] == 5
    assert body["schedule"] == {"startTime": _ms(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))}
    assert body["quietTime"] == {"start": "22:00", "end": "07:00"}
    assert body["holdoutPercent"] == 10

    page = (await asgi.client.get(f"/campaigns/{campaign_id}")).text
    assert 'value="2026-12-01T09:30"' in page
    assert 'name="targeting[0].customProperty.key" type="text" value="plan_tier"' in page


async def test_a_core_error_is_shown_next_to_its_field(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    r = await asgi.client.post(
        f"/apps/{asgi.app_id}/campaigns/new",
        data=_form(csrf, **{"triggering.limit.limit": "2"}),
    )
    assert r.status_code == 400
    field = re.search(r'<select id="f-triggering-limit-limitType"[^>]*>', r.text)
    assert field is not None
    assert 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="f-triggering-limit-limitType-error"' in field.group(0)
    assert 'id="f-triggering-limit-limitType-error"' in r.text
    assert "Frequency limit</a>: choose per session or per device" in r.text
    assert await asgi.store.list_campaigns(asgi.app_id) == []


async def test_every_core_error_is_listed_and_shown_at_its_field(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    r = await asgi.client.post(
        f"/apps/{asgi.app_id}/campaigns/new",
        data=_form(
            csrf,
            **{
                "triggering.limit.limit": "2",
                "content.url": "",
                "quietTime.start": "22:00",
                "quietTime.end": "22:00",
            },
        ),
    )
    assert r.status_code == 400
    summary = re.search(
        r'<div class="banner error" role="alert" id="error-summary"[^>]*>.*?</div>', r.text, re.S
    )
    assert summary is not None
    listed = re.findall(r'<li><a href="#([^"]+)">', summary.group(0))
    assert listed == ["f-triggering-limit-limitType", "f-content-url", "f-quietTime-end"]
    for dom_id in listed:
        assert f'id="{dom_id}-error"' in r.text
    assert "must differ from start" in r.text
    assert await asgi.store.list_campaigns(asgi.app_id) == []


async def test_add_and_remove_rows_keep_the_rest_of_the_form(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    url = f"/apps/{asgi.app_id}/campaigns/new"
    r = await asgi.client.post(
        url, data=_form(csrf, action="add-rule", **{"rule-kind": "eventCount"})
    )
    assert r.status_code == 200
    assert 'name="targeting[0].slot" value="eventCount"' in r.text
    assert 'value="Annual offer"' in r.text
    r = await asgi.client.post(
        url,
        data=_form(
            csrf,
            action="remove:targeting[0]",
            **{"targeting[0].slot": "country", "targeting[0].country.values": "US"},
        ),
    )
    assert 'name="targeting[0].slot"' not in r.text


async def test_the_dry_run_shows_what_would_fire(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    script = {
        "steps": [
            {"at": "2026-01-01T10:00:00Z", "do": "launch"},
            {"at": "+1s", "do": "track", "name": "PurchaseCompleted"},
            {"at": "+1s", "do": "track", "name": "PurchaseCompleted"},
            {"at": "+1s", "do": "track", "name": "PurchaseCompleted"},
            {"at": "+1s", "do": "track", "name": "PurchaseCompleted"},
        ]
    }
    r = await asgi.client.post(
        f"/apps/{asgi.app_id}/campaigns/new",
        data=_form(
            csrf,
            action="dryrun",
            **{
                "triggering.repeat.repeatValue": "2",
                "dryrun.script": orjson.dumps(script).decode(),
            },
        ),
    )
    assert r.status_code == 200
    assert "<strong>2</strong> time(s) the campaign would fire" in r.text
    bad = {"steps": [{"at": "2026-01-01T10:00:00Z", "do": "fly"}]}
    r = await asgi.client.post(
        f"/apps/{asgi.app_id}/campaigns/new",
        data=_form(csrf, action="dryrun", **{"dryrun.script": orjson.dumps(bad).decode()}),
    )
    assert 'id="dry-error"' in r.text
    assert "steps[0].do" in r.text


async def test_a_dry_run_with_no_decision_says_which_rule_failed(asgi: AsgiHarness) -> None:
    """The device is in PL but on iOS 16: the second Who rule (OS version) fails, and the result
    says so for the campaign and on each triggering event; the reason is the engine's own."""
    csrf = await _sign_in(asgi)
    script = {
        "device": {"deviceId": "dry", "platform": "iOS", "osVersion": "16.0", "country": "PL"},
        "steps": [
            {"at": "2026-01-01T10:00:00Z", "do": "launch"},
            {"at": "+1s", "do": "track", "name": "Browse"},
            {"at": "+1s", "do": "track", "name": "PurchaseCompleted"},
            {"at": "+1s", "do": "track", "name": "PurchaseCompleted"},
        ],
    }
    who = {
        "targeting[0].slot": "country",
        "targeting[0].country.type": "include",
        "targeting[0].country.values": "PL",
        "targeting[1].slot": "osVersion",
        "targeting[1].osVersion.compareType": "greaterOrEqual",
        "targeting[1].osVersion.value": "17.0",
    }
    url = f"/apps/{asgi.app_id}/campaigns/new"
    form = _form(csrf, action="dryrun", **who, **{"dryrun.script": orjson.dumps(script).decode()})
    r = await asgi.client.post(url, data=form)
    assert r.status_code == 200
    assert "<strong>0</strong> time(s) the campaign would fire" in r.text
    summary = r.text[r.text.index('id="dry-reasons"') :]
    summary = summary[: summary.index("</ul>")]
    assert "Annual offer" in summary
    assert "No decision: Who rule 2 (OS version) did not match" in summary
    assert r.text.count("<code>Who rule 2 (OS version) did not match</code>") == 2
    assert "Browse" in r.text and "not this event" not in r.text  # other events stay quiet

    # The trigger never comes: the reason says so.
    quiet = {**script, "steps": script["steps"][:2]}
    form["dryrun.script"] = orjson.dumps(quiet).decode()
    r = await asgi.client.post(url, data=form)
    assert "never sends the trigger PurchaseCompleted (custom)" in r.text

    # The device fits: it fires, and no reason is shown.
    fitting = {**script, "device": {**script["device"], "osVersion": "17.2"}}
    form["dryrun.script"] = orjson.dumps(fitting).decode()
    r = await asgi.client.post(url, data=form)
    assert "<strong>2</strong> time(s) the campaign would fire" in r.text
    assert 'id="dry-reasons"' not in r.text


async def test_stats_and_stream_read_what_devices_sent(asgi: AsgiHarness) -> None:
    from tidings.storage import DecisionIn, EventIn

    campaign_id = await _campaign(asgi, state="Active")
    await _sign_in(asgi)
    before = orjson.loads((await asgi.client.get(f"/apps/{asgi.app_id}/stream.json")).text)
    payload = orjson.dumps({"event": {"type": "custom", "properties": {"plan": "annual"}}})
    await asgi.store.ingest(
        asgi.app_id,
        [EventIn("e-1", "PurchaseCompleted", "custom", 1_700_000_000_000, payload, "dev-9")],
        [DecisionIn("d-1", campaign_id, "SUCCESS", 1_700_000_000_000, b"{}", "dev-9")],
        arrival_ms=1_700_000_000_500,
    )
    r = await asgi.client.get(
        f"/apps/{asgi.app_id}/stream.json",
        params={"after": before["after"], "device": "dev-9"},
    )
    polled = r.json()
    assert [e["name"] for e in polled["events"]] == ["PurchaseCompleted"]
    assert polled["events"][0]["properties"] == '{"plan":"annual"}'
    assert polled["after"] > before["after"]
    r = await asgi.client.get(
        f"/apps/{asgi.app_id}/stream.json", params={"after": before["after"], "name": "Other"}
    )
    assert r.json()["events"] == []
    stats = await asgi.client.get(f"/campaigns/{campaign_id}/stats")
    assert 'id="total-success">1<' in stats.text
    assert "<svg" in stats.text and "2023-11-14 SUCCESS: 1" in stats.text


async def test_stream_sinks_are_added_paused_resumed_and_deleted(
    asgi: AsgiHarness, tmp_path: Any
) -> None:
    csrf = await _sign_in(asgi)
    url = f"/apps/{asgi.app_id}/streams"
    r = await asgi.client.post(url, data={"csrf": csrf, "body": "{not json"})
    assert r.status_code == 400
    assert "not valid JSON" in r.text
    r = await asgi.client.post(url, data={"csrf": csrf, "body": '{"kind": "carrier-pigeon"}'})
    assert r.status_code == 400
    assert 'id="body-error"' in r.text and "kind" in r.text
    body = {"kind": "jsonl", "name": "Files", "settings": {"directory": str(tmp_path / "s")}}
    r = await asgi.client.post(url, data={"csrf": csrf, "body": orjson.dumps(body).decode()})
    assert r.status_code == 303, r.text
    page = (await asgi.client.get(url)).text
    sink_id = re.search(rf'href="{url}/([^"]+)"', page)
    assert sink_id is not None
    item = f"{url}/{sink_id.group(1)}"
    assert "Running" in page
    r = await asgi.client.post(item, data={"csrf": csrf, "action": "pause", "next": url})
    assert r.status_code == 303
    assert "Paused" in (await asgi.client.get(url)).text
    r = await asgi.client.post(item, data={"csrf": csrf, "action": "resume"})
    assert r.headers["location"].startswith(item)
    shown = await asgi.client.get(item)
    assert shown.status_code == 200
    assert "Behind the log: 0 records." in shown.text  # its own line, not in the configuration
    assert "&#34;behind&#34;" not in shown.text and '"behind"' not in shown.text
    r = await asgi.client.post(item, data={"csrf": csrf, "action": "delete"})
    assert r.status_code == 303
    assert (await asgi.client.get(item)).status_code == 404


async def test_a_destination_is_checked_by_the_admin_api(asgi: AsgiHarness) -> None:
    csrf = await _sign_in(asgi)
    url = f"/apps/{asgi.app_id}/destinations"
    r = await asgi.client.post(
        url, data={"csrf": csrf, "body": '{"kind": "amplitude", "subscriptions": 7}'}
    )
    assert r.status_code == 400
    assert "subscriptions" in r.text
    body = {"kind": "amplitude", "name": "Amp", "settings": {"apiKey": "k" * 32}}
    r = await asgi.client.post(url, data={"csrf": csrf, "body": orjson.dumps(body).decode()})
    assert r.status_code == 303, r.text
    page = (await asgi.client.get(url)).text
    dest = re.search(rf'href="{url}/([^"]+)"', page)
    assert dest is not None
    item = f"{url}/{dest.group(1)}"
    detail = await asgi.client.get(item)
    assert detail.status_code == 200 and "Dead letters" in detail.text
    edited = {"name": "Amplitude EU"}
    r = await asgi.client.post(
        item, data={"csrf": csrf, "action": "edit", "body": orjson.dumps(edited).decode()}
    )
    assert r.status_code == 303, r.text
    assert "Amplitude EU" in (await asgi.client.get(url)).text
    r = await asgi.client.post(item, data={"csrf": csrf, "action": "discard"})
    assert r.status_code == 303


async def test_the_destinations_page_offers_every_kind_and_keeps_secrets_masked(
    asgi: AsgiHarness,
) -> None:
    csrf = await _sign_in(asgi)
    url = f"/apps/{asgi.app_id}/destinations"
    page = (await asgi.client.get(url)).text
    for kind in ("amplitude", "amplitude-currents", "webhook"):
        assert f'href="{url}?kind={kind}"' in page
    hook = (await asgi.client.get(f"{url}?kind=webhook")).text
    assert "&#34;kind&#34;: &#34;webhook&#34;" in hook or '"kind": "webhook"' in hook
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = {
        "kind": "webhook",
        "name": "Hook",
        "settings": {"url": "https://e.org/h", "secret": secret},
    }
    r = await asgi.client.post(url, data={"csrf": csrf, "body": orjson.dumps(body).decode()})
    assert r.status_code == 303, r.text
    dest = re.search(rf'href="{url}/(dst_[^"]+)"', (await asgi.client.get(url)).text)
    assert dest is not None
    item = f"{url}/{dest.group(1)}"
    detail = (await asgi.client.get(item)).text
    assert secret not in detail and "whsec_***" in detail
    edited = {"name": "Hook 2", "settings": {"secret": "whsec_***"}}  # the form sends it back
    r = await asgi.client.post(
        item, data={"csrf": csrf, "action": "edit", "body": orjson.dumps(edited).decode()}
    )
    assert r.status_code == 303, r.text
    stored = await asgi.store.get_document("destinations", dest.group(1))
    assert stored is not None and stored.body["settings"]["secret"] == secret


async def test_a_body_nested_too_deep_is_refused_on_the_page(asgi: AsgiHarness) -> None:
    """The admin API's nesting limit holds for bodies typed into the page, even past the depth
    at which they could no longer be serialised to call the API."""
    csrf = await _sign_in(asgi)
    url = f"/apps/{asgi.app_id}/destinations"
    deep = '{"kind": "amplitude", "settings": ' + '{"a":' * 300 + "1" + "}" * 300 + "}"
    r = await asgi.client.post(url, data={"csrf": csrf, "body": deep})
    assert r.status_code == 400, r.text
    assert "settings.a.a" in r.text and "nested deeper than 32 levels" in r.text
    assert await asgi.store.list_documents("destinations") == []


async def test_the_editor_offers_the_moves_of_the_state_machine(asgi: AsgiHarness) -> None:
    campaign_id = await _campaign(asgi)
    csrf = await _sign_in(asgi)
    page = (await asgi.client.get(f"/campaigns/{campaign_id}")).text
    assert "Start campaign" in page and "Stop campaign" not in page
    r = await asgi.client.post(
        f"/campaigns/{campaign_id}/state",
        data={"state": "Active", "csrf": csrf, "next": f"/campaigns/{campaign_id}"},
    )
    assert r.headers["location"].startswith(f"/campaigns/{campaign_id}?notice=started&name=")
    page = (await asgi.client.get(r.headers["location"])).text
    assert "Stop campaign" in page and "Start campaign" not in page
    assert re.search(r'id="state-banner">“[^”]+” is now Active', page)
    assert '<span class="state state-active">Active</span>' in page
    assert 'data-confirm="Stop campaign' in page
    r = await asgi.client.post(
        f"/campaigns/{campaign_id}/state",
        data={"state": "Cancel", "csrf": csrf, "next": f"/campaigns/{campaign_id}?x=1"},
    )
    assert r.headers["location"].startswith(f"/campaigns/{campaign_id}?x=1&notice=stopped&")
    page = (await asgi.client.get(r.headers["location"])).text
    assert "is now Stopped" in page
    assert '<span class="state state-cancel">Stopped</span>' in page


async def test_the_trigger_picker_does_not_offer_session_finished(asgi: AsgiHarness) -> None:
    await _sign_in(asgi)
    r = await asgi.client.get(f"/apps/{asgi.app_id}/campaigns/new")
    assert r.status_code == 200
    picker = re.search(r'<select id="f-triggering-event-name".*?</select>', r.text, re.S)
    assert picker is not None
    assert 'value="SessionStarted"' in picker.group(0)
    assert 'value="SessionFinished"' not in picker.group(0)


async def test_the_cohorts_page_makes_and_revokes_the_data_import_key(asgi: AsgiHarness) -> None:
    """The REST endpoint is shown; a new key is shown once and works for cohort imports; a
    revoked key stops them."""
    csrf = await _sign_in(asgi)
    url = f"/apps/{asgi.app_id}/cohorts"
    r = await asgi.client.get(url)
    assert '<code id="rest-endpoint">http://tidings.test</code>' in r.text
    assert "POST http://tidings.test/partners/amplitude/cohorts/users" in r.text
    assert 'id="new-key"' not in r.text
    r = await asgi.client.post(url, data={"csrf": csrf, "action": "create"})
    assert r.status_code == 200
    match = re.search(r'<code id="new-key">([^<]+)</code>', r.text)
    assert match is not None
    key = match.group(1)
    assert 'id="new-key"' not in (await asgi.client.get(url)).text  # shown once

    async def import_cohort() -> int:
        body = {
            "partner_api_key": "amplitude",
            "client_secret": key,
            "cohort_id": "abcd1234",
            "name": "Loyal",
        }
        return (await asgi.client.post("/partners/amplitude/cohorts", json=body)).status_code

    assert await import_cohort() == 201
    assert "[Amplitude] Loyal: abcd1234" in (await asgi.client.get(url)).text
    r = await asgi.client.post(url, data={"csrf": csrf, "action": "revoke"})
    assert (r.status_code, r.headers["location"]) == (303, f"{url}?notice=revoked")
    page = (await asgi.client.get(r.headers["location"])).text
    assert "was revoked" in page
    assert 'value="revoke"' not in page
    assert await import_cohort() == 401
    r = await asgi.client.post(url, data={"csrf": "wrong", "action": "create"})
    assert r.status_code == 403
