"""Log Event, Log Event V2 and Log Purchase build steps."""

from __future__ import annotations

from typing import Any

import pytest
from amplitude_messages import IPHONE_UA, message

from tidings.core.errors import InvalidInput
from tidings.destinations.amplitude import preview

CONTROL_FIELDS = {
    "use_batch_endpoint",
    "userAgentParsing",
    "includeRawUserAgent",
    "library2",
    "trackRevenuePerProduct",
    "setOnce",
    "setAlways",
    "add",
    "utm_properties",
    "referrer",
    "min_id_length",
    "products",
    "userAgent",
    "userAgentData",
    "library_name",
    "revenue_type",
}


def events_of(action: str, msg: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
    (request,) = preview(msg, action, **kw)
    assert request["method"] == "POST"
    events: list[dict[str, Any]] = request["json"]["events"]
    for event in events:
        assert not set(event) & CONTROL_FIELDS
    return events


def one(action: str, msg: dict[str, Any], **kw: Any) -> dict[str, Any]:
    (event,) = events_of(action, msg, **kw)
    return event


def test_log_event_defaults() -> None:
    event = one("logEvent", message())
    assert event["event_type"] == "Song Played"
    assert event["user_id"] == "user-12345"
    assert event["device_id"] == "anon-12345"
    assert event["time"] == 1629213675449
    assert event["event_properties"] == {"genre": "jazz"}
    assert event["insert_id"] == "msg-1"
    assert event["library"] == "analytics.js"
    assert event["platform"] == "Web"
    assert event["ip"] == "8.8.8.8"
    assert event["location_lat"] == 40.5
    assert event["language"] == "en-US"
    assert "session_id" not in event


def test_device_id_prefers_context_device_id() -> None:
    msg = message()
    msg["context"]["device"] = {"id": "dev-12345", "type": "ios"}
    event = one("logEventV2", msg)
    assert event["device_id"] == "dev-12345"
    assert event["idfv"] == "dev-12345"
    assert event["platform"] == "iOS"


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("ios", "iOS"),
        ("ANDROID", "Android"),
        ("Some_Custom_Platform_Value", "Some_Custom_Platform_Value"),
        ("iosios", "iOSios"),
    ],
)
def test_platform_casing(platform: str, expected: str) -> None:
    msg = message()
    msg["context"]["device"] = {"type": platform}
    assert one("logEvent", msg)["platform"] == expected


def test_web_rule_only_for_analytics_js() -> None:
    msg = message()
    msg["context"]["library"]["name"] = "analytics-node"
    assert "platform" not in one("logEvent", msg)


def test_null_user_id_is_sent_as_null() -> None:
    event = one("logEvent", message(userId=None))
    assert event["user_id"] is None


REVENUE_MAPPING = {
    key: {"@path": f"$.properties.{key}"}
    for key in ("price", "quantity", "revenue", "productId", "revenueType", "currency")
}


def test_log_event_sends_no_revenue_fields_unless_mapped() -> None:
    """An event that carries a price is not revenue by default (a product viewed)."""
    msg = message(
        properties={"revenue": 10, "price": 2, "quantity": 5, "productId": "p", "revenueType": "x"}
    )
    for action in ("logEvent", "logEventV2"):
        event = one(action, msg)
        assert not {"revenue", "price", "quantity", "productId", "revenueType"} & set(event)


@pytest.mark.parametrize("action", ["logEvent", "logEventV2"])
@pytest.mark.parametrize(
    ("properties", "sent"),
    [
        (
            {"price": 2.5, "quantity": 4, "revenue": 99, "productId": "p-1", "currency": "EUR"},
            {
                "revenue": 10.0,
                "revenueType": "Purchase",
                "quantity": 4,
                "price": 2.5,
                "productId": "p-1",
                "currency": "EUR",
            },
        ),
        ({"price": 59.99}, {"revenue": 59.99, "revenueType": "Purchase", "price": 59.99}),
        ({"revenue": 12, "revenueType": "Refund"}, {"revenue": 12, "revenueType": "Refund"}),
        ({"price": 3, "revenue": 7}, {"revenue": 7, "revenueType": "Purchase", "price": 3}),
        ({"productId": "p-1"}, {}),
    ],
)
def test_log_event_sends_the_revenue_fields_it_is_mapped(
    action: str, properties: dict[str, Any], sent: dict[str, Any]
) -> None:
    """Price x quantity wins; else the revenue; else the price of one item (quantity's
    documented default); a product id alone is no revenue."""
    event = one(action, message(properties=properties), mapping=REVENUE_MAPPING)
    keys = ("revenue", "revenueType", "quantity", "price", "productId", "currency")
    assert {k: event[k] for k in keys if k in event} == sent


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2000-10-31T01:30:00.000-05:00", 972973800000),
        ("2021-06-08", 1623110400000),
        ("1629213675449", 1629213675449),
        (1629213675449, 1629213675449),
    ],
)
def test_session_id_conversion(value: Any, expected: int) -> None:
    msg = message(integrations={"Actions Amplitude": {"session_id": value}})
    assert one("logEvent", msg)["session_id"] == expected


def test_session_id_falls_back_to_context_session_started_at() -> None:
    msg = message()
    msg["context"]["session"] = {"id": "s1", "startedAt": 1629213600000}
    assert one("logEventV2", msg)["session_id"] == 1629213600000


@pytest.mark.parametrize(
    ("value", "expected"), [("not a date", None), (1629213675449.4, 1629213675449)]
)
def test_time_conversion(value: Any, expected: int | None) -> None:
    event = one("logEvent", message(timestamp=value))
    assert event.get("time") == expected


def test_log_event_utm_and_referrer_merge_with_traits_winning() -> None:
    msg = message(traits={"plan": "pro", "$set": {"utm_source": "trait"}, "referrer": "drop me"})
    props = one("logEvent", msg)["user_properties"]
    assert props["plan"] == "pro"
    assert "referrer" not in props
    assert props["$set"] == {
        "utm_source": "trait",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "referrer": "https://ref.example/",
    }
    assert props["$setOnce"] == {
        "initial_utm_source": "news",
        "initial_utm_medium": "email",
        "initial_utm_campaign": "spring",
        "initial_referrer": "https://ref.example/",
    }


def test_log_event_without_utm_or_referrer_keeps_traits() -> None:
    msg = message()
    del msg["context"]["campaign"]
    msg["context"]["page"]["referrer"] = ""
    assert one("logEvent", msg)["user_properties"] == {"plan": "pro"}


def test_log_event_v2_set_operations_replace_trait_operations() -> None:
    msg = message(traits={"plan": "pro", "$set": {"old": 1}})
    props = one("logEventV2", msg, mapping={"add": {"logins": 1}})["user_properties"]
    assert props["$set"]["utm_source"] == "news"
    assert "old" not in props["$set"]
    assert props["$setOnce"]["initial_referrer"] == "https://ref.example/"
    assert props["$add"] == {"logins": 1}


def test_log_event_v2_never_mixes_plain_user_properties_with_operations() -> None:
    """The default mapping sends traits and the referrer/UTM operations: the traits go into
    ``$set`` beside them, where the operation's own values win."""
    msg = message(traits={"plan": "pro", "utm_source": "trait", "$unset": {"x": "-"}})
    props = one("logEventV2", msg)["user_properties"]
    assert sorted(props) == ["$set", "$setOnce", "$unset"]
    assert props["$set"] == {
        "plan": "pro",
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "referrer": "https://ref.example/",
    }
    assert props["$unset"] == {"x": "-"}
    only_traits = one("logEventV2", msg, mapping={"setOnce": {}, "setAlways": {}})
    assert only_traits["user_properties"] == msg["traits"]


def test_log_event_v2_skips_operations_whose_values_are_all_empty() -> None:
    msg = message()
    del msg["context"]["campaign"]
    msg["context"]["page"]["referrer"] = ""
    assert one("logEventV2", msg)["user_properties"] == {"plan": "pro"}


def test_user_agent_parsing_and_mapped_fields_win() -> None:
    event = one("logEvent", message())
    assert (event["os_name"], event["os_version"], event["device_model"]) == ("iOS", "9", "iPhone")
    assert event["device_manufacturer"] == "Apple"
    assert event["device_type"] == "mobile"
    assert "user_agent" not in event
    msg = message()
    msg["context"]["os"] = {"name": "MyOS"}
    assert one("logEvent", msg)["os_name"] == "MyOS"


def test_user_agent_parsing_off_and_raw_agent_on() -> None:
    event = one(
        "logEvent", message(), mapping={"userAgentParsing": False, "includeRawUserAgent": True}
    )
    assert "os_name" not in event
    assert event["user_agent"] == IPHONE_UA


def test_client_hints_win_over_parsed_values() -> None:
    msg = message()
    msg["context"]["userAgentData"] = {"model": "Pixel 9", "platformVersion": "14.0.0"}
    event = one("logEvent", msg)
    assert (event["device_model"], event["os_version"]) == ("Pixel 9", "14.0.0")


def test_library2_controls_library() -> None:
    assert one("logEvent", message(), mapping={"library2": {}})["library"] == "segment"
    custom = {"library2": {"behavior": "use_mapping", "mapping": "my-lib"}}
    assert one("logEvent", message(), mapping=custom)["library"] == "my-lib"


def test_min_id_length_goes_to_options_and_batch_endpoint_switches_url() -> None:
    (request,) = preview(
        message(), "logEvent", mapping={"min_id_length": 3, "use_batch_endpoint": True}
    )
    assert request["url"] == "https://api2.amplitude.com/batch"
    assert request["json"]["options"] == {"min_id_length": 3}
    (request,) = preview(message(), "logEvent", mapping={"min_id_length": 0})
    assert "options" not in request["json"]


def test_europe_endpoint_and_api_key() -> None:
    (request,) = preview(message(), "logEventV2", settings={"apiKey": "k", "endpoint": "europe"})
    assert request["url"] == "https://api.eu.amplitude.com/2/httpapi"
    assert request["json"]["api_key"] == "k"


def test_unknown_endpoint_falls_back_to_north_america() -> None:
    (request,) = preview(message(), "logEventV2", settings={"endpoint": "mars"})
    assert request["url"] == "https://api2.amplitude.com/2/httpapi"


def test_coercion_and_required_event_type() -> None:
    assert one("logEvent", message(event=12345))["event_type"] == "12345"
    with pytest.raises(InvalidInput) as err:
        preview(message(event=None), "logEvent")
    assert err.value.field == "event_type"


def test_insert_id_can_be_remapped() -> None:
    assert (
        one("logEvent", message(), mapping={"insert_id": {"@path": "$.properties.genre"}})[
            "insert_id"
        ]
        == "jazz"
    )


# --- Log Purchase ----------------------------------------------------------------------------

ORDER = {
    "revenue": 100,
    "products": [
        {"price": 10, "quantity": 2.5, "productId": "a", "sku": "dropped"},
        {"productId": "b", "revenue": 0},
        {"revenue": 7, "revenueType": "Refund"},
    ],
}


def purchase(**mapping: Any) -> list[dict[str, Any]]:
    msg = message(event="Order Completed", properties=ORDER)
    return events_of("logPurchase", msg, mapping=mapping)


def test_purchase_main_event_gets_root_revenue() -> None:
    main, *products = purchase()
    assert main["event_type"] == "Order Completed"
    assert (main["revenue"], main["revenueType"]) == (100, "Purchase")
    assert main["event_properties"] == ORDER
    assert len(products) == 3
    assert [p["event_type"] for p in products] == ["Product Purchased"] * 3
    assert products[0]["event_properties"] == {"price": 10, "quantity": 2.5, "productId": "a"}
    assert all("revenue" not in p for p in products)


def test_purchase_insert_ids_are_distinct() -> None:
    events = purchase()
    assert [e["insert_id"] for e in events] == ["msg-1", "msg-1:1", "msg-1:2", "msg-1:3"]


def test_product_events_copy_mapped_fields_but_not_parsed_agent() -> None:
    main, first, *_ = purchase()
    assert main["os_name"] == "iOS"
    assert "os_name" not in first
    assert first["user_id"] == main["user_id"]
    assert first["time"] == main["time"]
    assert first["library"] == main["library"]


def test_purchase_revenue_per_product() -> None:
    main, p1, p2, p3 = purchase(trackRevenuePerProduct=True)
    assert "revenue" not in main
    assert p1["revenue"] == 25
    assert p1["revenueType"] == "Purchase"
    assert "revenue" not in p2
    assert (p3["revenue"], p3["revenueType"]) == (7, "Refund")


def test_purchase_price_times_quantity_wins_and_quantity_rounds_half_up() -> None:
    msg = message(event="Order Completed", properties={"revenue": 1, "price": 2.5, "quantity": 3})
    (main,) = events_of("logPurchase", msg)
    assert (main["revenue"], main["quantity"], main["price"]) == (7.5, 3, 2.5)


def test_purchase_zero_revenue_is_not_sent() -> None:
    (main,) = events_of("logPurchase", message(event="Order Completed", properties={"revenue": 0}))
    assert "revenue" not in main


def test_purchase_without_insert_id_gives_products_none() -> None:
    events = purchase(insert_id={"@path": "$.nope"})
    assert all("insert_id" not in e for e in events)


def test_an_empty_utm_value_still_counts_but_an_empty_referrer_does_not() -> None:
    msg = message(traits={})
    msg["context"]["campaign"] = {"source": ""}
    msg["context"]["page"]["referrer"] = ""
    props = one("logEvent", msg)["user_properties"]
    assert props == {"$set": {"utm_source": ""}, "$setOnce": {"initial_utm_source": ""}}


def test_utm_mapping_keeps_only_known_keys() -> None:
    mapping = {"utm_properties": {"utm_source": "s", "other": "x"}, "referrer": {"@path": "$.nope"}}
    props = one("logEvent", message(traits={}), mapping=mapping)["user_properties"]
    assert props == {"$set": {"utm_source": "s"}, "$setOnce": {"initial_utm_source": "s"}}


def test_base_url_replaces_every_host() -> None:
    (request,) = preview(message(), "logEvent", settings={"baseUrl": "http://127.0.0.1:9/"})
    assert request["url"] == "http://127.0.0.1:9/2/httpapi"


# --- Values Segment tests with ``??`` (only undefined falls back) or truthiness -------------


def test_empty_client_hints_win_over_parsed_values() -> None:
    msg = message()
    msg["context"]["userAgentData"] = {"model": "", "platformVersion": ""}
    for action in ("logEvent", "logEventV2", "logPurchase"):
        event = events_of(action, msg)[0]
        assert (event["device_model"], event["os_version"]) == ("", "")
    parsed = one("logEvent", message())
    msg["context"]["userAgentData"] = {"model": None, "platformVersion": None}
    event = one("logEvent", msg)
    assert (event["device_model"], event["os_version"]) == (
        parsed["device_model"],
        parsed["os_version"],
    )
    assert parsed["os_version"]


def test_purchase_empty_revenue_type_is_kept() -> None:
    properties = {"revenue": 5, "revenueType": "", "products": [{"revenue": 7, "revenueType": ""}]}
    msg = message(event="Order Completed", properties=properties)
    main, product = events_of("logPurchase", msg)
    assert (main["revenue"], main["revenueType"]) == (5, "")
    assert "revenue" not in product
    main, product = events_of("logPurchase", msg, mapping={"trackRevenuePerProduct": True})
    assert "revenue" not in main
    assert (product["revenue"], product["revenueType"]) == (7, "")


def test_custom_products_mapping_keeps_extra_keys() -> None:
    products = [{"price": "10", "quantity": 2, "sku": "s-1", "name": "Tee", "tags": ["a"]}]
    msg = message(event="Order Completed", properties={"products": products})
    mapping = {"products": {"@path": "$.properties.products"}, "trackRevenuePerProduct": True}
    _main, product = events_of("logPurchase", msg, mapping=mapping)
    assert product["event_properties"] == {
        "price": 10,
        "quantity": 2,
        "sku": "s-1",
        "name": "Tee",
        "tags": ["a"],
    }
    assert (product["revenue"], product["price"], product["quantity"]) == (20, 10, 2)


def test_product_events_get_no_empty_insert_id() -> None:
    main, *products = purchase(insert_id="")
    assert main["insert_id"] == ""
    assert len(products) == 3
    assert all("insert_id" not in p for p in products)


@pytest.mark.parametrize("action", ["logEvent", "logEventV2", "logPurchase"])
def test_time_zero_is_not_sent(action: str) -> None:
    for zero in (0, 0.0):
        assert "time" not in events_of(action, message(timestamp=zero))[0]
    assert events_of(action, message(timestamp=1))[0]["time"] == 1


@pytest.mark.parametrize("session", [0, 0.0, ""])
def test_falsy_session_id_is_not_sent(session: Any) -> None:
    msg = message(integrations={"Actions Amplitude": {"session_id": session}})
    assert "session_id" not in one("logEvent", msg)


def test_fractional_time_is_truncated_like_a_js_date() -> None:
    assert one("logEvent", message(timestamp=1629213675449.7))["time"] == 1629213675449
    assert one("logEvent", message(timestamp=-1.5))["time"] == -1


def test_numeric_session_id_is_kept_as_is() -> None:
    msg = message(integrations={"Actions Amplitude": {"session_id": 1629213675449.7}})
    assert one("logEvent", msg)["session_id"] == 1629213675449.7
    msg = message(integrations={"Actions Amplitude": {"session_id": "1629213675449"}})
    assert one("logEvent", msg)["session_id"] == 1629213675449
