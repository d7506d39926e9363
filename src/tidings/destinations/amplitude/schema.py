"""Every action's fields and defaults (Segment's "Amplitude (Actions)" field tables).

Defaults follow Segment's "Amplitude (Actions)" except where docs/spec/amplitude.md decides
otherwise: ``insert_id`` defaults to ``$.messageId``, and ``session_id`` falls back to
``context.session.startedAt`` (what the Tidings SDK sends) when the browser plugin's value is
absent. The revenue fields (price, quantity, revenue, product id, revenue type, currency) have
defaults in Log Purchase only: Log Event and Log Event V2 send them when a mapping names them,
so an event that merely carries a ``price`` (a product viewed) never counts as revenue.
"""

from __future__ import annotations

from typing import Any

from tidings.core.mapping import UNDEFINED, Field


def _path(path: str) -> dict[str, str]:
    return {"@path": path}


def _first(primary: str, fallback: str) -> dict[str, Any]:
    return {"@if": {"exists": _path(primary), "then": _path(primary), "else": _path(fallback)}}


DEVICE_ID = _first("$.context.device.id", "$.anonymousId")
SESSION_ID = _first('$.integrations["Actions Amplitude"].session_id', "$.context.session.startedAt")
ADVERTISING_ID = _first("$.context.device.advertisingId", "$.context.device.idfa")
CAMPAIGN = "$.context.campaign"

DEVICE_FIELDS: tuple[Field, ...] = (
    Field("app_version", "string", _path("$.context.app.version")),
    Field("platform", "string", _path("$.context.device.type")),
    Field("os_name", "string", _path("$.context.os.name")),
    Field("os_version", "string", _path("$.context.os.version")),
    Field("device_brand", "string", _path("$.context.device.brand")),
    Field("device_manufacturer", "string", _path("$.context.device.manufacturer")),
    Field("device_model", "string", _path("$.context.device.model")),
    Field("carrier", "string", _path("$.context.network.carrier")),
    Field("country", "string", _path("$.context.location.country")),
    Field("region", "string", _path("$.context.location.region")),
    Field("city", "string", _path("$.context.location.city")),
    Field("dma", "string"),
    Field("language", "string", _path("$.context.locale")),
)

USER_AGENT_FIELDS: tuple[Field, ...] = (
    Field("userAgent", "string", _path("$.context.userAgent")),
    Field("userAgentParsing", "boolean", True),
    Field("includeRawUserAgent", "boolean", False),
    Field("min_id_length", "integer", allow_null=True),
    Field(
        "userAgentData",
        "object",
        {
            "model": _path("$.context.userAgentData.model"),
            "platformVersion": _path("$.context.userAgentData.platformVersion"),
        },
        properties=("model", "platformVersion"),
    ),
)

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_UTM_SOURCES = ("source", "medium", "name", "term", "content")
UTM_FIELDS: tuple[Field, ...] = (
    Field(
        "utm_properties",
        "object",
        {k: _path(f"{CAMPAIGN}.{src}") for k, src in zip(UTM_KEYS, _UTM_SOURCES, strict=True)},
        properties=UTM_KEYS,
    ),
    Field("referrer", "string", _path("$.context.page.referrer")),
)

PRODUCT_SHAPE = {
    "price": _path("$.price"),
    "revenue": _path("$.revenue"),
    "quantity": _path("$.quantity"),
    "productId": _path("$.productId"),
    "revenueType": _path("$.revenueType"),
}

EVENT_FIELDS: tuple[Field, ...] = (
    Field("user_id", "string", _path("$.userId"), allow_null=True),
    Field("device_id", "string", DEVICE_ID),
    Field("event_type", "string", _path("$.event"), required=True),
    Field("session_id", "datetime", SESSION_ID),
    Field("time", "datetime", _path("$.timestamp")),
    Field("event_properties", "object", _path("$.properties")),
    Field("user_properties", "object", _path("$.traits")),
    Field("groups", "object"),
    *DEVICE_FIELDS,
    Field("location_lat", "number", _path("$.context.location.latitude")),
    Field("location_lng", "number", _path("$.context.location.longitude")),
    Field("ip", "string", _path("$.context.ip")),
    Field("idfa", "string", ADVERTISING_ID),
    Field("idfv", "string", _path("$.context.device.id")),
    Field("adid", "string", ADVERTISING_ID),
    Field("android_id", "string"),
    Field("event_id", "integer"),
    Field("insert_id", "string", _path("$.messageId")),
    Field("library", "string", _path("$.context.library.name")),
    Field(
        "library2",
        "object",
        {"behavior": "use_mapping", "mapping": _path("$.context.library.name")},
        properties=("behavior", "mapping"),
    ),
    Field("products", "array", {"@arrayPath": ["$.properties.products", PRODUCT_SHAPE]}),
    Field("use_batch_endpoint", "boolean", False),
    *USER_AGENT_FIELDS,
)

_SET_ONCE = {
    "initial_referrer": _path("$.context.page.referrer"),
    **{
        f"initial_{k}": _path(f"{CAMPAIGN}.{src}")
        for k, src in zip(UTM_KEYS, _UTM_SOURCES, strict=True)
    },
}
_SET_ALWAYS = {
    "referrer": _path("$.context.page.referrer"),
    **{k: _path(f"{CAMPAIGN}.{src}") for k, src in zip(UTM_KEYS, _UTM_SOURCES, strict=True)},
}

REVENUE_KEYS = ("price", "quantity", "revenue", "productId", "revenueType", "currency")
"""The revenue fields, in the order an event carries them."""


def _revenue_fields(*, defaults: bool) -> tuple[Field, ...]:
    """Price, quantity, revenue, product id and revenue type read ``$.properties`` by default
    (Log Purchase) or only when mapped (Log Event, V2); ``currency`` only ever when mapped."""
    types = ("number", "number", "number", "string", "string")
    out = [
        Field(key, kind, _path(f"$.properties.{key}") if defaults else UNDEFINED)  # type: ignore[arg-type]
        for key, kind in zip(REVENUE_KEYS, types, strict=False)
    ]
    return (*out, Field("currency", "string"))


LOG_EVENT_FIELDS = (*EVENT_FIELDS, *_revenue_fields(defaults=False), *UTM_FIELDS)
LOG_EVENT_V2_FIELDS = (
    *EVENT_FIELDS,
    *_revenue_fields(defaults=False),
    Field("setOnce", "object", _SET_ONCE),
    Field("setAlways", "object", _SET_ALWAYS),
    Field("add", "object"),
)
LOG_PURCHASE_FIELDS = (
    *EVENT_FIELDS,
    *_revenue_fields(defaults=True),
    *UTM_FIELDS,
    Field("trackRevenuePerProduct", "boolean", False),
)

IDENTIFY_FIELDS: tuple[Field, ...] = (
    Field("user_id", "string", _path("$.userId"), allow_null=True),
    Field("device_id", "string", DEVICE_ID),
    Field("user_properties", "object", _path("$.traits")),
    Field("groups", "object"),
    *DEVICE_FIELDS,
    Field("paying", "boolean"),
    Field("start_version", "string"),
    Field("insert_id", "string", _path("$.messageId")),
    *USER_AGENT_FIELDS,
    *UTM_FIELDS,
    Field("library", "string", _path("$.context.library.name")),
)

GROUP_IDENTIFY_FIELDS: tuple[Field, ...] = (
    Field("user_id", "string", _path("$.userId"), allow_null=True),
    Field("device_id", "string", DEVICE_ID),
    Field("insert_id", "string", _path("$.messageId")),
    Field("time", "datetime", _path("$.timestamp")),
    Field("group_properties", "object", _path("$.traits")),
    Field("group_type", "string", required=True),
    Field("group_value", "string", required=True),
    Field("min_id_length", "integer", allow_null=True),
)

MAP_USER_FIELDS: tuple[Field, ...] = (
    Field("user_id", "string", _path("$.previousId")),
    Field("global_user_id", "string", _path("$.userId")),
    Field("min_id_length", "integer", allow_null=True),
)

EVENT_KEYS = (
    "user_id",
    "device_id",
    "event_type",
    "event_properties",
    "user_properties",
    "groups",
    "app_version",
    "platform",
    "os_name",
    "os_version",
    "device_brand",
    "device_manufacturer",
    "device_model",
    "carrier",
    "country",
    "region",
    "city",
    "dma",
    "language",
    "location_lat",
    "location_lng",
    "ip",
    "idfa",
    "idfv",
    "adid",
    "android_id",
    "event_id",
    "insert_id",
)
"""Mapped fields that go into an Amplitude event as they are; every other field is a control."""

IDENTIFY_KEYS = (
    "user_id",
    "device_id",
    "user_properties",
    "groups",
    "app_version",
    "platform",
    "os_name",
    "os_version",
    "device_brand",
    "device_manufacturer",
    "device_model",
    "carrier",
    "country",
    "region",
    "city",
    "dma",
    "language",
    "paying",
    "start_version",
    "insert_id",
)
