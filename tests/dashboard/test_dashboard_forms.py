"""The editor round-trips campaigns: what it renders, posted back unchanged, is what was stored.

The page is read like a browser would submit it (every successful control of the form), so a
field the template forgets, misnames or renders with the wrong value fails here.
"""

from __future__ import annotations

import copy
import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from dash_support import AsgiHarness
from hypothesis import given
from hypothesis import strategies as st

from tidings.core.campaigns import parse_campaign
from tidings.core.errors import InvalidCampaign
from tidings.server.dashboard import dryrun, paths, wording
from tidings.server.dashboard.session import csrf_token
from tidings.storage import ProjectConfig

pytestmark = pytest.mark.anyio

RICH: dict[str, Any] = {
    "name": "Everything",
    "type": "DeepLink",
    "priority": 3,
    "project": "kept-as-is",
    "triggering": {
        "event": {
            "name": "PurchaseCompleted",
            "type": "custom",
            "params": [{"name": "price", "compareType": ">=", "valueType": "number", "value": "5"}],
        },
        "repeat": {
            "repeatType": "interval",
            "repeatEntity": "session",
            "repeatValue": [3, 4, 5],
            "subRepeat": {"repeatType": "interval", "repeatEntity": "event", "repeatValue": [1]},
        },
        "limit": {"limit": 1, "limitType": "device", "interval": 30, "intervalDimension": "day"},
    },
    "targeting": [
        {"appVersion": {"compareType": "greaterOrEqual", "value": "2.0.0"}},
        {"country": {"type": "exclude", "values": ["PL", "US"]}},
        {"application": {"type": "include", "values": ["app-from-elsewhere"]}},
        {
            "customProperty": {
                "key": "plan",
                "valueType": "string",
                "compareType": "notEqual",
                "value": "free",
            }
        },
        {"customProperty": {"key": "seen", "valueType": "boolean", "compareType": "isSet"}},
        {
            "customProperty": {
                "key": "renewal",
                "valueType": "datetime",
                "compareType": "less",
                "dateValue": {"type": "relative", "relativeValue": 3, "dimension": "days"},
            }
        },
        {
            "installDate": {
                "compareType": "greater",
                "value": {"type": "absolute", "absoluteValue": 1_767_225_600_000},
            }
        },
        {
            "eventCount": {
                "event": {
                    "name": "SessionStarted",
                    "type": "system",
                    "params": [
                        {
                            "name": "type",
                            "compareType": "===",
                            "valueType": "string",
                            "value": "cold",
                        }
                    ],
                },
                "compareType": "greaterOrEqual",
                "value": 3,
            }
        },
        {
            "eventDate": {
                "event": {"name": "TrialStarted", "type": "custom", "params": []},
                "bound": "last",
                "mode": "moreThanDaysAgoOrNever",
                "relativeValue": 14,
                "relativeUnit": "days",
            }
        },
        {
            "eventDate": {
                "event": {"name": "TrialStarted", "type": "custom", "params": []},
                "bound": "first",
                "mode": "beforeDate",
                "absoluteValue": "2026-03-01",
            }
        },
        {"cohort": {"type": "include", "values": ["power-users"]}},
    ],
    "content": {"url": "acme://offer", "title": "kept"},
    "schedule": {"startTime": 1_767_225_600_000, "endTime": 1_769_904_000_000},
    "quietTime": {"start": "22:00", "end": "07:30"},
    "holdoutPercent": 12.5,
    "treatments": [
        {"id": "a", "sizePercent": 50, "content": {"url": "acme://a"}},
        {"id": "b", "sizePercent": 50, "content": {"url": "acme://b"}},
    ],
}


class _Form(HTMLParser):
    """The successful controls of the editor form, as a browser submits them."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "editor" in a.get("class", ""):
            self._in_form = True
        if not self._in_form or ("name" not in a and tag != "option"):
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.pairs.append((a["name"], a.get("value", "on")))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            chosen = [v for v, sel in self._options if sel] or [self._options[0][0]]
            self.pairs.append((self._select, chosen[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.pairs.append((self._textarea, self._text))
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def _controls(html: str) -> list[tuple[str, str]]:
    parser = _Form()
    parser.feed(html)
    return parser.pairs


async def _post(h: AsgiHarness, url: str, pairs: list[tuple[str, str]]) -> httpx.Response:
    return await h.client.post(
        url,
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_a_rich_campaign_round_trips_through_the_editor(asgi: AsgiHarness) -> None:
    parse_campaign({**RICH, "id": "check"})  # the fixture itself is valid
    stored = await asgi.store.create_campaign(asgi.app_id, copy.deepcopy(RICH), "Draft")
    app = await asgi.store.get_app(asgi.app_id)
    assert app is not None
    await asgi.store.upsert_cohort(app.project_id, "power-users", "Power users")  # it names one
    await asgi.client.post("/signin", data={"token": asgi.token})
    page = await asgi.client.get(f"/campaigns/{stored.id}")
    assert page.status_code == 200
    pairs = [(k, v) for k, v in _controls(page.text) if k != "action"]
    assert ("csrf", csrf_token(asgi.token)) in pairs
    r = await _post(asgi, f"/campaigns/{stored.id}", [*pairs, ("action", "save")])
    assert r.status_code == 303, r.text
    again = await asgi.store.get_campaign(stored.id)
    assert again is not None
    server_owned = ("id", "state", "createdAt")  # the store adds them to every body
    assert {k: v for k, v in again.body.items() if k not in server_owned} == RICH


async def test_a_new_campaign_form_posted_as_is_names_what_is_missing(
    asgi: AsgiHarness,
) -> None:
    await asgi.client.post("/signin", data={"token": asgi.token})
    url = f"/apps/{asgi.app_id}/campaigns/new"
    pairs = [(k, v) for k, v in _controls((await asgi.client.get(url)).text) if k != "action"]
    r = await _post(asgi, url, [*pairs, ("action", "save")])
    assert r.status_code == 400
    assert 'id="f-triggering-event-name-error"' in r.text


_key = st.text(alphabet="abcXYZ_", min_size=1, max_size=6)
_path_tokens = st.lists(st.one_of(_key, st.integers(0, 30)), min_size=1, max_size=6).filter(
    lambda t: isinstance(t[0], str)
)


@given(_path_tokens)
def test_paths_split_what_join_wrote(tokens: list[str | int]) -> None:
    assert paths.split(paths.join(tokens)) == tokens


@given(st.lists(st.integers(0, 5), max_size=6), st.integers(0, 6))
def test_append_then_remove_restores_the_document(items: list[int], extra: int) -> None:
    doc: dict[str, Any] = {"a": {"b": list(items)}}
    assert paths.append(doc, "a.b", extra)
    assert paths.get(doc, f"a.b[{len(items)}]") == extra
    paths.remove(doc, f"a.b[{len(items)}]")
    assert doc == {"a": {"b": items}}


def test_list_errors_anchor_on_the_list_input() -> None:
    assert paths.anchor("triggering.repeat.repeatValue[2]") == "triggering.repeat.repeatValue"
    assert paths.anchor("targeting[1].country.values[0]") == "targeting[1].country.values"
    assert paths.anchor("targeting[1].country") == "targeting[1].country"
    assert paths.dom_id("targeting[1].country.values") == "f-targeting-1-country-values"


def test_charts_stack_each_day_and_escape_their_labels() -> None:
    from tidings.server.dashboard.charts import stacked_bars

    svg = str(
        stacked_bars(
            "Decisions <by> status",
            ["2026-11-27", "2026-11-28"],
            {"SUCCESS": [3, 1], "<script>": [0, 2], "HOLDOUT": [0, 0]},
        )
    )
    assert svg.count("<rect") == 3 + 2  # three bar segments, two legend swatches
    assert "2026-11-28 SUCCESS: 1" in svg and "HOLDOUT" not in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'aria-label="Decisions &lt;by&gt; status"' in svg
    assert "No data yet" in str(stacked_bars("Empty", ["2026-11-28"], {"SUCCESS": [0]}))


SERVER: dict[str, Any] = {
    "name": "Welcome mail",
    "type": "Webhook",
    "channel": "server",
    "triggering": {
        "event": {"name": "Signed Up", "type": "custom", "params": []},
        "repeat": {"repeatType": "every", "repeatEntity": "event", "repeatValue": [1]},
        "limit": {"limit": 1, "limitType": "device"},
    },
    "targeting": [],
    "content": {
        "destinationId": "",
        "channelType": "EMAIL",
        "body": {"to": "{{traits.email}}", "text": "Welcome to {{event.properties.plan}}"},
    },
}


async def _webhook(asgi: AsgiHarness) -> str:
    from tidings.pipeline.delivery import create_instance

    body = {
        "kind": "webhook",
        "name": "Mailer",
        "settings": {
            "url": "https://example.org/hook",
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        },
        "subscriptions": [],
    }
    return (await create_instance(asgi.store, asgi.app_id, body)).id


async def test_a_server_campaign_round_trips_and_previews_its_body(asgi: AsgiHarness) -> None:
    campaign = copy.deepcopy(SERVER)
    campaign["content"]["destinationId"] = await _webhook(asgi)
    stored = await asgi.store.create_campaign(asgi.app_id, copy.deepcopy(campaign), "Draft")
    await asgi.client.post("/signin", data={"token": asgi.token})
    page = await asgi.client.get(f"/campaigns/{stored.id}")
    assert page.status_code == 200
    assert "Mailer (webhook)" in page.text
    pairs = [(k, v) for k, v in _controls(page.text) if k != "action"]
    r = await _post(asgi, f"/campaigns/{stored.id}", [*pairs, ("action", "save")])
    assert r.status_code == 303, r.text
    again = await asgi.store.get_campaign(stored.id)
    assert again is not None
    server_owned = ("id", "state", "createdAt")
    assert {k: v for k, v in again.body.items() if k not in server_owned} == campaign

    r = await _post(asgi, f"/campaigns/{stored.id}", [*pairs, ("action", "preview")])
    assert r.status_code == 200
    assert "preview-result" in r.text
    assert "ann@example.org" in r.text and "Welcome to pro" in r.text

    broken = [(k, '{"to": "{{nope.x}}"}' if k == "content.body" else v) for k, v in pairs]
    r = await _post(asgi, f"/campaigns/{stored.id}", [*broken, ("action", "save")])
    assert r.status_code == 400
    assert 'id="f-content-body-error"' in r.text and "must start with one of" in r.text
    r = await _post(asgi, f"/campaigns/{stored.id}", [*broken, ("action", "preview")])
    assert "content.body.to: reference" in r.text


def test_problems_are_worded_with_the_editor_labels() -> None:
    found = [
        InvalidCampaign("triggering.limit.limitType", "must be one of session, device"),
        InvalidCampaign("targeting[1].osVersion.compareType", "is required (one of equal, less)"),
        InvalidCampaign("triggering.event.params[0].value", "must be a number value"),
        InvalidCampaign("treatments[2].sizePercent", "must be a number"),
        InvalidCampaign("triggering.repeat.repeatValue[3]", "must be an integer >= 1"),
    ]
    shown = [(p.anchor, p.summary) for p in wording.problems(found)]
    assert shown == [
        ("triggering.limit.limitType", "Frequency limit: choose per session or per device"),
        (
            "targeting[1].osVersion.compareType",
            "Rule 2 (OS version) operator: choose equal or less",
        ),
        (
            "triggering.event.params[0].value",
            "Trigger event, property filter 1 value: must be a number value",
        ),
        ("treatments[2].sizePercent", "Treatment 3 size %: enter a number"),
        (
            "triggering.repeat.repeatValue",
            "Repeat: occurrences: enter a whole number of at least 1",
        ),
    ]


def test_the_default_dry_run_device_fits_the_who() -> None:
    """The default script's device satisfies the rules a device's attributes can satisfy, so a
    dry run of a fresh campaign fires (the core engine judges it, as on a device)."""
    draft = {
        "name": "Fit",
        "type": "DeepLink",
        "triggering": {
            "event": {"name": "Buy", "type": "custom", "params": []},
            "repeat": {"repeatType": "every", "repeatEntity": "event", "repeatValue": [1]},
        },
        "targeting": [
            {"country": {"type": "include", "values": ["pl", "de"]}},
            {"appVersion": {"compareType": "greater", "value": "2.9"}},
            {"osVersion": {"compareType": "less", "value": "17.2"}},
            {"cohort": {"type": "include", "values": ["vip"]}},
            {
                "customProperty": {
                    "key": "tier",
                    "valueType": "number",
                    "compareType": "greater",
                    "value": "3",
                }
            },
            {
                "customProperty": {
                    "key": "plan",
                    "valueType": "string",
                    "compareType": "notEqual",
                    "value": "free",
                }
            },
        ],
        "content": {"url": "acme://x"},
    }
    script = dryrun.default_script(draft)
    doc = json.loads(script)
    assert doc["device"]["country"] == "PL" and doc["device"]["appVersion"] == "2.10"
    assert doc["device"]["osVersion"] == "17.1" and doc["cohorts"] == ["vip"]
    result = dryrun.run(draft, "c-fit", script, ProjectConfig())
    assert result.ran and result.fired == 3, result.rows
    # Excluding the device's country instead: the device is elsewhere, and it still fires.
    draft["targeting"][0] = {"country": {"type": "exclude", "values": ["US"]}}
    doc = json.loads(dryrun.default_script(draft))
    assert doc["device"]["country"] == "GB"
