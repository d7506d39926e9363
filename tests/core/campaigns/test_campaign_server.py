"""Server campaigns in the core: the channel, the Webhook content, body templates."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from campaign_builders import T0, campaign_json
from hypothesis import given
from hypothesis import strategies as st

from tidings.core.campaigns import (
    CampaignEngine,
    EngineState,
    EvaluationContext,
    compile_body,
    parse_campaign,
    validate_campaign,
)
from tidings.core.errors import InvalidCampaign
from tidings.core.events import EventRecord
from tidings.core.profile import DeviceProfile

BODY = {"to": "{{traits.email}}", "plan": "{{event.properties.plan}}"}


def server_json(cid: str = "s1", **extra: Any) -> dict[str, Any]:
    obj = campaign_json(cid, "Signed Up", type="Webhook", channel="server")
    obj["content"] = {"destinationId": "dst_1", "channelType": "EMAIL", "body": BODY}
    obj.update(extra)
    return obj


def paths(obj: Any) -> list[str]:
    return [e.field for e in validate_campaign(obj)]


def test_a_server_campaign_parses_with_its_compiled_content() -> None:
    campaign = parse_campaign(server_json())
    assert campaign.channel == "server"
    content = campaign.server_content("0")
    assert content is not None
    assert (content.destination_id, content.channel_type) == ("dst_1", "EMAIL")
    assert content.body.references == ("traits.email", "event.properties.plan")
    assert campaign.to_json() == server_json()


def test_channel_follows_the_type_and_contradictions_name_the_field() -> None:
    without = server_json()
    del without["channel"]
    assert parse_campaign(without).channel == "server"
    assert parse_campaign(campaign_json()).channel == "in_app"
    assert paths(server_json(channel="in_app")) == ["channel"]
    assert paths(campaign_json(channel="server")) == ["type"]
    assert paths(server_json(channel="email")) == ["channel"]


@pytest.mark.parametrize(
    ("content", "path"),
    [
        (None, "content"),
        ({"channelType": "CUSTOM", "body": {}}, "content.destinationId"),
        ({"destinationId": "d", "channelType": "FAX", "body": {}}, "content.channelType"),
        ({"destinationId": "d"}, "content.body"),
        ({"destinationId": "d", "body": []}, "content.body"),
        ({"destinationId": "d", "body": {"a": "{{nope.x}}"}}, "content.body.a"),
        ({"destinationId": "d", "body": {"a": ["{{event.}}"]}}, "content.body.a[0]"),
        ({"destinationId": "d", "body": {"a": {"b": "x {{ y"}}}, "content.body.a.b"),
        ({"destinationId": "d", "body": {}, "url": "x"}, "content.url"),
    ],
)
def test_content_errors_name_the_path(content: Any, path: str) -> None:
    assert paths(server_json(content=content)) == [path]


def test_treatment_contents_are_checked_and_chosen_per_treatment() -> None:
    treatments = [
        {"id": "a", "sizePercent": 50},
        {"id": "b", "sizePercent": 50, "content": {"destinationId": "d2", "body": {"v": "B"}}},
    ]
    campaign = parse_campaign(server_json(treatments=treatments))
    a, b = campaign.server_content("a"), campaign.server_content("b")
    assert a is not None and a.destination_id == "dst_1"
    assert b is not None and (b.destination_id, b.channel_type) == ("d2", "CUSTOM")
    bad = [treatments[0], {**treatments[1], "content": {"body": {}}}]
    assert paths(server_json(treatments=bad)) == ["treatments[1].content.destinationId"]


def test_device_only_targeting_is_refused_for_server_campaigns() -> None:
    targeting = [
        {"country": {"type": "include", "values": ["PL"]}},
        {"installDate": {"compareType": "less", "value": {"type": "relative", "relativeValue": 7}}},
    ]
    assert paths(server_json(targeting=targeting)) == ["targeting[1].installDate"]
    assert paths(campaign_json(targeting=targeting)) == []


def test_each_engine_runs_only_its_channel() -> None:
    campaigns = [parse_campaign(server_json()), parse_campaign(campaign_json("d", "Signed Up"))]
    event = EventRecord("e1", "Signed Up", "custom", T0, None, {})
    ctx = EvaluationContext(profile=DeviceProfile("dev"), user_id="u1")
    device = CampaignEngine(campaigns).process(event, ctx, EngineState())
    server = CampaignEngine(campaigns, channel="server").process(event, ctx, EngineState())
    assert [d.campaign_id for d in device] == ["d"]
    assert [d.campaign_id for d in server] == ["s1"]


CONTEXT = {
    "event": {
        "name": "Signed Up",
        "properties": {"plan": "pro", "seats": 3, "items": [{"sku": 7}]},
    },
    "user": {"userId": "u1"},
    "traits": {"email": "a@example.org", "vip": True},
}


def render(body: dict[str, Any], context: dict[str, Any] = CONTEXT) -> Any:
    return compile_body(body, "body").render(context)


def test_rendering_keeps_types_of_whole_references_and_texts_in_strings() -> None:
    body = {
        "seats": "{{event.properties.seats}}",
        "vip": "{{ traits.vip }}",
        "sku": "{{event.properties.items.0.sku}}",
        "props": "{{event.properties}}",
        "text": "{{user.userId}} has {{event.properties.seats}} seats ({{traits.vip}})",
        "missing": "{{traits.phone}}",
        "missing_in_text": "call [{{traits.phone}}]",
        "literal": ["plain", 1, None, {"k": "{{event.name}}"}],
    }
    assert render(body) == {
        "seats": 3,
        "vip": True,
        "sku": 7,
        "props": CONTEXT["event"]["properties"],
        "text": "u1 has 3 seats (true)",
        "missing": None,
        "missing_in_text": "call []",
        "literal": ["plain", 1, None, {"k": "Signed Up"}],
    }


def test_a_body_too_large_or_too_deep_is_refused() -> None:
    with pytest.raises(InvalidCampaign, match="at most"):
        compile_body({"a": "x" * 70_000}, "content.body")
    deep: Any = {}
    for _ in range(40):
        deep = {"a": deep}
    with pytest.raises(InvalidCampaign, match="nested deeper"):
        compile_body(deep, "content.body")


json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def no_braces(value: Any) -> bool:
    text = orjson.dumps(value).decode()
    return "{{" not in text and "}}" not in text


@given(json_values.filter(no_braces))
def test_a_body_without_references_renders_unchanged(value: Any) -> None:
    body = {"v": value}
    assert render(body) == body


@given(
    st.dictionaries(
        st.sampled_from(["event", "user", "traits", "device", "campaign"]), json_values
    ),
    st.lists(st.text(alphabet="abc.01 ", max_size=8), max_size=4),
)
def test_rendering_never_raises_and_whole_references_keep_the_value(
    context: dict[str, Any], keys: list[str]
) -> None:
    for key in keys:
        ref = f"traits.{key}"
        try:
            template = compile_body({"v": f"{{{{{ref}}}}}", "t": f"<{{{{{ref}}}}}>"}, "b")
        except InvalidCampaign:
            continue
        out = template.render(context)
        traits = context.get("traits")
        wanted = traits.get(key.strip()) if isinstance(traits, dict) and "." not in key else None
        if "." not in key and isinstance(traits, dict):
            assert out["v"] == wanted
        assert isinstance(out["t"], str) and out["t"].startswith("<")


@given(json_values)
def test_the_validator_never_raises(value: Any) -> None:
    for problem in validate_campaign(server_json(content={"destinationId": "d", "body": value})):
        assert problem.field.startswith("content")


LIMITED = {
    "triggering": {
        "event": {"name": "Signed Up", "type": "custom"},
        "limit": {"limit": 2, "limitType": "device", "interval": 1, "intervalDimension": "hour"},
    },
    "holdoutPercent": 20,
    "treatments": [{"id": "A", "sizePercent": 50}, {"id": "B", "sizePercent": 50}],
    "targeting": [
        {
            "customProperty": {
                "key": "vip",
                "valueType": "boolean",
                "compareType": "notEqual",
                "value": "false",
            }
        },
    ],
}

messages = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", None]),
        st.sampled_from(["Signed Up", "Opened", "$identify"]),
        st.integers(0, 3_600_000),
        st.sampled_from([None, True, False]),
    ),
    max_size=25,
)


def _observation(n: int, user: str | None, name: str, at: int, vip: bool | None) -> Any:
    from tidings.core.campaigns import observe

    message: dict[str, Any] = {"type": "identify" if name == "$identify" else "track"}
    message["userId" if user else "anonymousId"] = user or "anon"
    if vip is not None:
        message["traits"] = {"vip": vip}
    event = {"id": f"e{n}", "name": name, "type": "custom", "timestamp": at, "properties": {}}
    return observe({"source": "segment", "event": event, "message": message})


@given(messages)
def test_restoring_a_person_at_any_point_changes_no_later_decision(
    steps: list[tuple[str | None, str, int, bool | None]],
) -> None:
    from tidings.core.campaigns import IdentityState, evaluate

    engine = CampaignEngine([parse_campaign(server_json(**LIMITED))], channel="server")
    straight: dict[str, IdentityState] = {}
    restored: dict[str, IdentityState] = {}
    now = T0
    for n, (user, name, gap, vip) in enumerate(steps):
        now += gap
        obs = _observation(n, user, name, now, vip)
        a = evaluate(engine, straight.setdefault(obs.identity, IdentityState()), obs, "app")
        state = restored.get(obs.identity)
        state = IdentityState() if state is None else IdentityState.from_bytes(state.to_bytes())
        restored[obs.identity] = state
        b = evaluate(engine, state, obs, "app")
        assert [(d.id, d.status, d.decision.treatment_id, d.body) for d in a] == [
            (d.id, d.status, d.decision.treatment_id, d.body) for d in b
        ]
