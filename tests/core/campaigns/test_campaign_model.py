"""Campaign JSON validation: defaults for Amply-only documents, and every rule with its path."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from campaign_builders import campaign_json

from tidings.core.campaigns import parse_campaign, parse_campaigns, parse_project_settings
from tidings.core.campaigns.values import DAY_MS
from tidings.core.errors import InvalidCampaign, InvalidConfig

AMPLY_ONLY: dict[str, Any] = {
    "id": "c_abc",
    "name": "Welcome offer",
    "type": "DeepLink",
    "state": "Active",
    "project": "0b4d3c5e-0000-4000-8000-000000000000",
    "triggering": {
        "event": {
            "name": "PurchaseCompleted",
            "type": "custom",
            "params": [{"name": "plan", "value": "annual"}],
        },
        "repeat": None,
        "limit": {
            "count": None,
            "limit": None,
            "limitType": None,
            "interval": None,
            "intervalDimension": None,
        },
    },
    "targeting": [{"country": {"type": "include", "values": ["US", "pl"]}}],
    "content": {"url": "myapp://promo"},
}


def error_of(obj: Any) -> InvalidCampaign:
    with pytest.raises(InvalidCampaign) as info:
        parse_campaign(obj)
    return info.value


def test_amply_only_campaign_loads_with_defaults() -> None:
    campaign = parse_campaign(AMPLY_ONLY)
    assert campaign.priority == 0
    assert campaign.created_at == 0
    param = campaign.trigger.params[0]
    assert (param.compare_type, param.value_type, param.value) == ("===", "string", "annual")
    assert campaign.repeat.is_default
    assert campaign.limit.is_empty
    assert campaign.schedule is None and campaign.quiet_time is None
    assert campaign.holdout_percent == 0 and campaign.treatments == ()


def test_raw_and_to_json_round_trip_unchanged() -> None:
    original = copy.deepcopy(AMPLY_ONLY)
    campaign = parse_campaign(original)
    assert campaign.raw is original
    out = campaign.to_json()
    assert out == AMPLY_ONLY
    out["id"] = "changed"
    assert campaign.raw["id"] == "c_abc"
    assert parse_campaign(campaign.to_json()).id == "c_abc"


def test_state_defaults_to_draft_and_name_to_id() -> None:
    obj = campaign_json()
    del obj["state"], obj["name"]
    campaign = parse_campaign(obj)
    assert campaign.state == "Draft" and not campaign.active
    assert campaign.name == "c1"


def test_extensions_parse() -> None:
    campaign = parse_campaign(
        campaign_json(
            priority=5,
            createdAt=123,
            schedule={"startTime": 10, "endTime": 20},
            quietTime={"start": "22:00", "end": "07:30"},
            holdoutPercent=12.5,
            treatments=[
                {"id": "A", "sizePercent": 50},
                {"id": "B", "sizePercent": 50, "content": {"url": "app://b"}},
            ],
        )
    )
    assert (campaign.priority, campaign.created_at) == (5, 123)
    assert campaign.schedule is not None and campaign.schedule.end_ms == 20
    assert campaign.quiet_time is not None
    assert (campaign.quiet_time.start_minute, campaign.quiet_time.end_minute) == (22 * 60, 450)
    assert campaign.holdout_percent == 12.5
    assert [t.id for t in campaign.treatments] == ["A", "B"]


def test_limit_interval_converted_to_ms() -> None:
    campaign = parse_campaign(
        campaign_json(
            limit={"limit": 1, "limitType": "device", "interval": 30, "intervalDimension": "day"}
        )
    )
    assert campaign.limit.interval_ms == 30 * DAY_MS


@pytest.mark.parametrize(
    ("mutate", "path", "reason_part"),
    [
        (lambda o: o.pop("id"), "id", "required"),
        (lambda o: o.update(id=""), "id", "non-empty"),
        (lambda o: o.update(type="Popup"), "type", "DeepLink"),
        (lambda o: o.update(state="Live"), "state", "Active"),
        (lambda o: o.update(priority="high"), "priority", "integer"),
        (lambda o: o.update(createdAt=-1), "createdAt", ">= 0"),
        (lambda o: o.pop("triggering"), "triggering", "object"),
        (lambda o: o["triggering"].pop("event"), "triggering.event", "object"),
        (lambda o: o["triggering"]["event"].pop("name"), "triggering.event.name", "required"),
        (
            lambda o: o["triggering"]["event"].update(type="other"),
            "triggering.event.type",
            "custom",
        ),
        (
            lambda o: o["triggering"]["event"].update(params=[{"value": "x"}]),
            "triggering.event.params[0].name",
            "required",
        ),
        (
            lambda o: o["triggering"]["event"].update(
                params=[{"name": "p", "value": "x", "compareType": "=="}]
            ),
            "triggering.event.params[0].compareType",
            "one of",
        ),
        (
            lambda o: o["triggering"]["event"].update(
                params=[{"name": "p", "value": "x", "valueType": "number"}]
            ),
            "triggering.event.params[0].value",
            "number",
        ),
        (
            lambda o: o["triggering"]["event"].update(
                params=[{"name": "p", "value": "yes", "valueType": "boolean"}]
            ),
            "triggering.event.params[0].value",
            "boolean",
        ),
        (
            lambda o: o["triggering"]["event"].update(params=[{"name": "p"}]),
            "triggering.event.params[0].value",
            "required",
        ),
        (lambda o: o.update(content=None), "content.url", "required"),
        (lambda o: o.update(content={"deeplink": "x"}), "content.url", "required"),
        (lambda o: o.update(targeting={"country": {}}), "targeting", "array"),
        (
            lambda o: o.update(schedule={"startTime": 20, "endTime": 10}),
            "schedule.endTime",
            "after",
        ),
        (
            lambda o: o.update(quietTime={"start": "25:00", "end": "07:00"}),
            "quietTime.start",
            "HH:MM",
        ),
        (
            lambda o: o.update(quietTime={"start": "07:00", "end": "07:00"}),
            "quietTime.end",
            "differ",
        ),
        (lambda o: o.update(holdoutPercent=101), "holdoutPercent", "between"),
        (lambda o: o.update(treatments=[]), "treatments", "non-empty"),
        (
            lambda o: o.update(
                treatments=[{"id": "a", "sizePercent": 60}, {"id": "b", "sizePercent": 30}]
            ),
            "treatments",
            "sum to 100",
        ),
        (
            lambda o: o.update(
                treatments=[{"id": "a", "sizePercent": 50}, {"id": "a", "sizePercent": 50}]
            ),
            "treatments[1].id",
            "duplicate",
        ),
        (
            lambda o: o.update(treatments=[{"id": "a", "sizePercent": 100, "content": {}}]),
            "treatments[0].content.url",
            "non-empty",
        ),
    ],
)
def test_validation_errors_name_the_path(mutate: Any, path: str, reason_part: str) -> None:
    obj = campaign_json()
    mutate(obj)
    error = error_of(obj)
    assert error.field == path
    assert reason_part in error.reason
    assert str(error).startswith(path)


@pytest.mark.parametrize(
    ("repeat", "path", "reason_part"),
    [
        (
            {"repeatType": "every", "repeatEntity": "event", "repeatValue": [0]},
            "triggering.repeat.repeatValue[0]",
            "must be an integer >= 1",
        ),
        (
            {"repeatType": "every", "repeatEntity": "event", "repeatValue": []},
            "triggering.repeat.repeatValue",
            "non-empty",
        ),
        (
            {"repeatType": "every", "repeatEntity": "event", "repeatValue": 2},
            "triggering.repeat.repeatValue",
            "array",
        ),
        (
            {"repeatType": "every", "repeatEntity": "event", "repeatValue": [1, "2"]},
            "triggering.repeat.repeatValue[1]",
            "integer",
        ),
        (
            {"repeatType": "sometimes", "repeatEntity": "event", "repeatValue": [1]},
            "triggering.repeat.repeatType",
            "one of",
        ),
        (
            {"repeatType": "every", "repeatEntity": "user", "repeatValue": [1]},
            "triggering.repeat.repeatEntity",
            "one of",
        ),
        (
            {
                "repeatType": "interval",
                "repeatEntity": "session",
                "repeatValue": [3],
                "subRepeat": {
                    "repeatType": "interval",
                    "repeatEntity": "event",
                    "repeatValue": [-1],
                },
            },
            "triggering.repeat.subRepeat.repeatValue[0]",
            ">= 1",
        ),
    ],
)
def test_repeat_validation(repeat: dict[str, Any], path: str, reason_part: str) -> None:
    error = error_of(campaign_json(repeat=repeat))
    assert (error.field, reason_part in error.reason) == (path, True)


def test_session_started_trigger_rejects_session_entity() -> None:
    repeat = {"repeatType": "every", "repeatEntity": "session", "repeatValue": [3]}
    error = error_of(campaign_json(trigger="SessionStarted", trigger_type="system", repeat=repeat))
    assert error.field == "triggering.repeat.repeatEntity"
    ok = {"repeatType": "every", "repeatEntity": "event", "repeatValue": [3]}
    assert parse_campaign(campaign_json(trigger="SessionStarted", trigger_type="system", repeat=ok))


def test_a_session_finished_trigger_is_refused() -> None:
    error = error_of(campaign_json(trigger="SessionFinished", trigger_type="system"))
    assert error.field == "triggering.event.name"
    assert "can never show" in error.reason


@pytest.mark.parametrize(
    ("limit", "path"),
    [
        ({"limit": 1}, "triggering.limit.limitType"),
        ({"limitType": "session"}, "triggering.limit.limit"),
        ({"interval": 3}, "triggering.limit.intervalDimension"),
        ({"intervalDimension": "day"}, "triggering.limit.interval"),
        ({"limit": 1, "limitType": "user"}, "triggering.limit.limitType"),
        ({"interval": 1, "intervalDimension": "week"}, "triggering.limit.intervalDimension"),
        ({"count": -1}, "triggering.limit.count"),
        ({"limit": 1.5, "limitType": "device"}, "triggering.limit.limit"),
    ],
)
def test_limit_validation(limit: dict[str, Any], path: str) -> None:
    assert error_of(campaign_json(limit=limit)).field == path


def test_rate_review_has_no_content() -> None:
    obj = campaign_json(type="RateReview")
    obj.pop("content")
    assert parse_campaign(obj).content is None
    obj["content"] = {"url": "x"}
    assert error_of(obj).field == "content"


def test_deep_link_content_may_come_from_every_treatment() -> None:
    obj = campaign_json(treatments=[{"id": "a", "sizePercent": 100, "content": {"url": "app://a"}}])
    obj.pop("content")
    assert parse_campaign(obj).content is None


def test_parse_campaigns_prefixes_list_index() -> None:
    bad = campaign_json(cid="b", priority="x")
    with pytest.raises(InvalidCampaign) as info:
        parse_campaigns([campaign_json(), bad])
    assert info.value.field == "[1].priority"
    assert [c.id for c in parse_campaigns(campaign_json())] == ["c1"]


def test_not_an_object() -> None:
    assert error_of([1]).reason == "must be an object"


def test_project_settings() -> None:
    settings = parse_project_settings({"frequencyCapping": {"perSession": 2, "perDay": 3}})
    assert (settings.per_session, settings.per_day) == (2, 3)
    empty = parse_project_settings({})
    assert (empty.per_session, empty.per_day) == (None, None)
    assert parse_project_settings(None) == empty
    with pytest.raises(InvalidConfig) as info:
        parse_project_settings({"frequencyCapping": {"perDay": "3"}})
    assert info.value.field == "frequencyCapping.perDay"
