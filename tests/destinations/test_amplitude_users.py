"""Identify User, Group Identify User and Map User requests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from amplitude_messages import message

from tidings.core.errors import InvalidInput
from tidings.destinations.amplitude import preview


def identify_message(**changes: Any) -> dict[str, Any]:
    return message(type="identify", **changes)


def decoded(request: dict[str, Any], field: str) -> Any:
    form = request["form"]
    assert all(isinstance(v, str) for v in form.values())
    assert "undefined" not in json.dumps(form)
    return json.loads(form[field])


def test_identify_defaults() -> None:
    (request,) = preview(identify_message(), "identifyUser", settings={"apiKey": "key"})
    assert request["url"] == "https://api2.amplitude.com/identify"
    assert request["form"]["api_key"] == "key"
    assert "options" not in request["form"]
    ident = decoded(request, "identification")
    assert isinstance(ident, dict)
    assert ident["user_id"] == "user-12345"
    assert ident["device_id"] == "anon-12345"
    assert ident["library"] == "segment"
    assert ident["platform"] == "Web"
    assert ident["os_name"] == "iOS"
    assert ident["insert_id"] == "msg-1"
    assert "time" not in ident


def test_identify_utm_and_referrer_win_over_traits() -> None:
    msg = identify_message(traits={"plan": "pro", "$set": {"utm_source": "trait", "x": 1}})
    ident = decoded(preview(msg, "identifyUser")[0], "identification")
    props = ident["user_properties"]
    assert props["plan"] == "pro"
    assert props["$set"]["utm_source"] == "news"
    assert props["$set"]["x"] == 1
    assert props["$setOnce"]["initial_referrer"] == "https://ref.example/"


def test_identify_min_id_length_and_empty_api_key() -> None:
    (request,) = preview(identify_message(), "identifyUser", mapping={"min_id_length": 2})
    assert decoded(request, "options") == {"min_id_length": 2}
    assert request["form"]["api_key"] == ""


def test_identify_paying_and_groups_are_mapped() -> None:
    mapping = {"paying": "true", "groups": {"org": {"@path": "$.traits.plan"}}, "start_version": 3}
    ident = decoded(
        preview(identify_message(), "identifyUser", mapping=mapping)[0], "identification"
    )
    assert (ident["paying"], ident["groups"], ident["start_version"]) == (True, {"org": "pro"}, "3")


GROUP = {"group_type": "org", "group_value": {"@path": "$.groupId"}}


def test_group_identify_sends_two_requests() -> None:
    msg = message(type="group", groupId="acme", traits={"seats": 5})
    first, second = preview(msg, "groupIdentifyUser", mapping=GROUP, settings={"apiKey": "k"})
    assert first["url"] == "https://api2.amplitude.com/identify"
    (member,) = decoded(first, "identification")
    assert member == {
        "device_id": "anon-12345",
        "groups": {"org": "acme"},
        "insert_id": "msg-1",
        "library": "segment",
        "time": 1629213675449,
        "user_id": "user-12345",
        "user_properties": {"org": "acme"},
    }
    assert second["url"] == "https://api2.amplitude.com/groupidentify"
    assert decoded(second, "identification") == [
        {
            "group_properties": {"seats": 5},
            "group_value": "acme",
            "group_type": "org",
            "library": "segment",
        }
    ]


def test_group_identify_without_ids_only_sets_group_properties() -> None:
    msg = message(type="group", groupId="acme", userId=None, anonymousId=None)
    (only,) = preview(msg, "groupIdentifyUser", mapping={**GROUP, "device_id": {"@path": "$.nope"}})
    assert only["url"].endswith("/groupidentify")


def test_group_identify_time_defaults_to_now_when_missing() -> None:
    msg = message(type="group", groupId="acme")
    del msg["timestamp"]
    first, _ = preview(msg, "groupIdentifyUser", mapping=GROUP, now_ms=42)
    assert decoded(first, "identification")[0]["time"] == 42
    first, _ = preview(msg, "groupIdentifyUser", mapping=GROUP)
    assert "time" not in decoded(first, "identification")[0]


def test_group_identify_requires_group_type_and_value() -> None:
    with pytest.raises(InvalidInput) as err:
        preview(message(type="group"), "groupIdentifyUser")
    assert err.value.field == "group_type"


def test_map_user() -> None:
    msg = message(type="alias", previousId="old-user")
    (request,) = preview(
        msg, "mapUser", settings={"endpoint": "europe"}, mapping={"min_id_length": 4}
    )
    assert request["url"] == "https://api.eu.amplitude.com/usermap"
    assert decoded(request, "mapping") == [{"user_id": "old-user", "global_user_id": "user-12345"}]
    assert decoded(request, "options") == {"min_id_length": 4}


def test_map_user_us_host_is_api_not_api2() -> None:
    (request,) = preview(message(type="alias", previousId="old"), "mapUser")
    assert request["url"] == "https://api.amplitude.com/usermap"
    assert "options" not in request["form"]


def test_identify_empty_client_hints_win_over_parsed_values() -> None:
    msg = identify_message()
    msg["context"]["userAgentData"] = {"model": "", "platformVersion": ""}
    ident = decoded(preview(msg, "identifyUser")[0], "identification")
    assert (ident["device_model"], ident["os_version"]) == ("", "")


def test_group_identify_without_traits_sends_no_group_properties() -> None:
    msg = message(type="group", groupId="acme")
    del msg["traits"]
    _first, second = preview(msg, "groupIdentifyUser", mapping=GROUP)
    assert decoded(second, "identification") == [
        {"group_value": "acme", "group_type": "org", "library": "segment"}
    ]


def test_group_identify_fractional_time_is_truncated() -> None:
    msg = message(type="group", groupId="acme", timestamp=1629213675449.7)
    first, _ = preview(msg, "groupIdentifyUser", mapping=GROUP)
    assert decoded(first, "identification")[0]["time"] == 1629213675449
