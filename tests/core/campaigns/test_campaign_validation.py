"""The one campaign validator: every problem at once, each with a path that is in the document."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from campaign_builders import campaign_json
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.campaigns import (
    CAMPAIGN_RULES,
    CampaignParts,
    parse_campaign,
    parse_campaigns,
    validate_campaign,
    validate_campaigns,
)
from tidings.core.campaigns import reader as r
from tidings.core.errors import InvalidCampaign

RICH: dict[str, Any] = campaign_json(
    "rich",
    params=[{"name": "plan", "value": "annual", "compareType": "===", "valueType": "string"}],
    repeat={
        "repeatType": "interval",
        "repeatEntity": "session",
        "repeatValue": [3, 4],
        "subRepeat": {"repeatType": "interval", "repeatEntity": "event", "repeatValue": [1]},
    },
    limit={"limit": 1, "limitType": "session", "interval": 1, "intervalDimension": "day"},
    targeting=[
        {"country": {"type": "include", "values": ["US"]}},
        {"appVersion": {"compareType": "greaterOrEqual", "value": "2.0"}},
        {
            "customProperty": {
                "key": "tier",
                "compareType": "equal",
                "valueType": "string",
                "value": "pro",
            }
        },
        {
            "eventCount": {
                "event": {"name": "Opened", "type": "custom"},
                "compareType": "greater",
                "value": 2,
            }
        },
        {
            "eventDate": {
                "event": {"name": "Opened", "type": "custom"},
                "bound": "last",
                "mode": "withinLastDays",
                "relativeValue": 7,
            }
        },
    ],
    treatments=[
        {"id": "a", "sizePercent": 50, "content": {"url": "app://a"}},
        {"id": "b", "sizePercent": 50},
    ],
    schedule={"startTime": 1, "endTime": 2},
    quietTime={"start": "22:00", "end": "07:00"},
    holdoutPercent=10,
    priority=2,
)


def paths(errors: list[InvalidCampaign]) -> list[str]:
    return [e.field for e in errors]


def test_the_rich_fixture_is_valid() -> None:
    assert validate_campaign(RICH) == []
    assert parse_campaign(RICH).id == "rich"


def test_every_problem_is_reported_in_one_pass() -> None:
    doc = copy.deepcopy(RICH)
    doc["type"] = "Popup"
    doc["priority"] = "high"
    doc["triggering"]["event"]["params"][0]["compareType"] = "~"
    doc["triggering"]["repeat"]["repeatValue"] = [0]
    doc["triggering"]["limit"]["limitType"] = "week"
    doc["targeting"][0]["country"]["values"] = [""]
    doc["targeting"][2]["customProperty"]["compareType"] = "like"
    doc["quietTime"]["end"] = "25:00"
    doc["holdoutPercent"] = 101
    errors = validate_campaign(doc)
    assert paths(errors) == [
        "type",
        "priority",
        "triggering.event.params[0].compareType",
        "triggering.repeat.repeatValue[0]",
        "triggering.limit.limitType",
        "targeting[0].country.values[0]",
        "targeting[2].customProperty.compareType",
        "quietTime.end",
        "holdoutPercent",
    ]
    assert errors[1].reason == "must be an integer"
    # parse_campaign stops nothing short either: its error carries the same list.
    with pytest.raises(InvalidCampaign) as info:
        parse_campaign(doc)
    assert (info.value.field, info.value.reason) == (errors[0].field, errors[0].reason)
    assert paths(list(info.value.errors)) == paths(errors)


def test_each_treatment_is_checked_and_the_sum_only_when_all_read() -> None:
    doc = copy.deepcopy(RICH)
    doc["treatments"] = [
        {"id": "", "sizePercent": 50},
        {"id": "b", "sizePercent": 500},
        {"id": "c", "sizePercent": 50, "content": {"url": ""}},
    ]
    assert paths(validate_campaign(doc)) == [
        "treatments[0].id",
        "treatments[1].sizePercent",
        "treatments[2].content.url",
    ]
    doc["treatments"] = [{"id": "a", "sizePercent": 50}, {"id": "a", "sizePercent": 40}]
    assert [(e.field, e.reason) for e in validate_campaign(doc)] == [
        ("treatments[1].id", "duplicate treatment id 'a'")
    ]
    doc["treatments"] = [{"id": "a", "sizePercent": 50}, {"id": "b", "sizePercent": 40}]
    assert [(e.field, e.reason) for e in validate_campaign(doc)] == [
        ("treatments", "sizePercent values must sum to 100 (got 90)")
    ]


def test_id_is_optional_for_a_definition_and_required_to_run() -> None:
    doc = copy.deepcopy(RICH)
    del doc["id"]
    assert validate_campaign(doc) == []
    with pytest.raises(InvalidCampaign) as info:
        parse_campaign(doc)
    assert (info.value.field, info.value.reason) == ("id", "is required (a non-empty string)")
    doc["id"] = 7
    assert [(e.field, e.reason) for e in validate_campaign(doc)] == [
        ("id", "must be a non-empty string")
    ]


def test_a_campaign_file_prefixes_items_and_rejects_duplicate_ids() -> None:
    bad = {**campaign_json("b"), "type": None}
    errors = validate_campaigns([campaign_json("a"), bad, campaign_json("a"), 3])
    assert [(e.field, e.reason) for e in errors] == [
        ("[1].type", "is required (one of DeepLink, RateReview, Webhook)"),
        ("[2].id", "duplicate campaign id 'a' (also [0])"),
        ("[3]", "must be an object"),
    ]
    with pytest.raises(InvalidCampaign) as info:
        parse_campaigns([campaign_json("a"), {**bad, "holdoutPercent": -1}])
    assert paths(list(info.value.errors)) == ["[1].type", "[1].holdoutPercent"]


def test_a_broken_part_is_not_reported_again_by_a_rule_that_reads_it() -> None:
    doc = campaign_json(trigger="SessionStarted", trigger_type="system")
    doc["triggering"]["repeat"] = {"repeatType": "every", "repeatEntity": "session"}
    # The repeat itself is broken (no repeatValue): one error, not a second from the rule.
    assert paths(validate_campaign(doc)) == ["triggering.repeat.repeatValue"]
    doc["triggering"]["repeat"]["repeatValue"] = [2]
    assert paths(validate_campaign(doc)) == ["triggering.repeat.repeatEntity"]


def test_rules_are_a_list_that_can_grow() -> None:
    def no_test_names(parts: CampaignParts) -> None:
        if parts.name is not None and parts.name.startswith("test"):
            r.fail("name", "must not start with 'test'")

    CAMPAIGN_RULES.append(no_test_names)
    try:
        assert paths(validate_campaign({**RICH, "name": "test me"})) == ["name"]
    finally:
        CAMPAIGN_RULES.remove(no_test_names)
    assert validate_campaign({**RICH, "name": "test me"}) == []


def test_subrepeat_nesting_is_bounded() -> None:
    repeat: dict[str, Any] = {"repeatType": "every", "repeatEntity": "event", "repeatValue": [1]}
    for _ in range(50):
        repeat = {**repeat, "subRepeat": repeat}
    errors = validate_campaign(campaign_json(repeat=repeat))
    assert len(errors) == 1
    assert errors[0].reason == "may nest at most 8 levels deep"
    assert errors[0].field.count("subRepeat") == 8


# --------------------------------------------------------------------------- properties

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
MISSING = object()


def _resolve(doc: Any, path: str) -> tuple[Any, int, int]:
    """The node at ``path`` and how many of its tokens resolved (of how many)."""
    tokens = [int(i) if i else k for k, i in _TOKEN.findall(path)]
    node = doc
    for done, token in enumerate(tokens):
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                return MISSING, done, len(tokens)
        elif not isinstance(node, dict) or token not in node:
            return MISSING, done, len(tokens)
        node = node[token]
    return node, len(tokens), len(tokens)


def _assert_paths_exist(doc: Any, errors: list[InvalidCampaign]) -> None:
    for error in errors:
        assert isinstance(error.field, str) and isinstance(error.reason, str) and error.reason
        _node, done, total = _resolve(doc, error.field)
        if done < total:
            # Only a missing required value may name a path that is not there, and everything
            # above the missing part is in the document.
            assert "required" in error.reason, (error.field, error.reason)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _all_paths(doc: Any, prefix: str = "") -> list[str]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _all_paths(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _all_paths(value, f"{prefix}[{i}]")
    return out


def _replace(doc: Any, path: str, value: Any) -> Any:
    if not path:
        return value
    tokens = [int(i) if i else k for k, i in _TOKEN.findall(path)]
    node = doc
    for token in tokens[:-1]:
        node = node[token]
    node[tokens[-1]] = value
    return doc


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_never_raises_on_arbitrary_json(doc: Any) -> None:
    errors = validate_campaign(doc)
    _assert_paths_exist(doc, errors)
    _assert_paths_exist(doc, validate_campaigns(doc))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_valid_campaign_with_one_part_replaced_reports_paths_that_exist(data: Any) -> None:
    doc = copy.deepcopy(RICH)
    where = data.draw(st.sampled_from(_all_paths(doc)))
    if data.draw(st.booleans()) and where and not where.endswith("]"):
        parent, _, _ = _resolve(doc, where.rsplit(".", 1)[0] if "." in where else "")
        del parent[where.rsplit(".", 1)[-1]]
    else:
        doc = _replace(doc, where, data.draw(json_values))
    errors = validate_campaign(doc)
    _assert_paths_exist(doc, errors)
    # Country codes are checked on submission only: a stored campaign with an unknown code still
    # parses (on a device it matches nobody), so parsing reports everything else.
    parsed = [e for e in errors if "ISO 3166-1" not in e.reason]
    if isinstance(doc, dict) and isinstance(doc.get("id"), str) and doc["id"]:
        if parsed:
            with pytest.raises(InvalidCampaign) as info:
                parse_campaign(doc)
            assert paths(list(info.value.errors)) == paths(parsed)
        else:
            assert parse_campaign(doc).id == doc["id"]


def test_every_field_of_one_part_is_reported_together() -> None:
    """A filter, its params, a limit and a treatment report all their bad fields in one pass."""
    doc = copy.deepcopy(RICH)
    doc["triggering"]["event"] = {
        "name": "",
        "type": "custom",
        "params": [{"name": "", "compareType": "~", "valueType": "string", "value": "x"}],
    }
    doc["triggering"]["limit"] = {"limit": "q", "limitType": "", "interval": 0}
    doc["treatments"] = [{"id": "", "sizePercent": "x"}]
    doc["content"] = {"url": "javascript:alert(1)"}
    fields = [p.field for p in validate_campaign(doc)]
    assert fields == [
        "triggering.event.name",
        "triggering.event.params[0].name",
        "triggering.event.params[0].compareType",
        "triggering.limit.limit",
        "triggering.limit.limitType",
        "triggering.limit.interval",
        "triggering.limit.intervalDimension",
        "treatments[0].id",
        "treatments[0].sizePercent",
        "content.url",
    ]


def test_country_codes_must_be_iso_3166_alpha2_in_a_submission() -> None:
    doc = copy.deepcopy(RICH)
    doc["targeting"] = [{"country": {"type": "include", "values": ["us", "UK", "USA", "pl"]}}]
    found = [(p.field, p.reason) for p in validate_campaign(doc)]
    assert found == [
        (
            "targeting[0].country.values[1]",
            "'UK' is not an ISO 3166-1 alpha-2 country code (e.g. US, GB)",
        ),
        (
            "targeting[0].country.values[2]",
            "'USA' is not an ISO 3166-1 alpha-2 country code (e.g. US, GB)",
        ),
    ]
    # A stored campaign still parses (devices stay lenient): an unknown code matches nobody.
    parse_campaign({**doc, "id": "c1"})
