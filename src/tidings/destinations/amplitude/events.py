"""Log Event, Log Event V2 and Log Purchase: mapped fields to ``/2/httpapi`` (or ``/batch``) bodies.

The steps and their order are those of Segment's "Amplitude (Actions)" event build. Control fields
(``use_batch_endpoint``, ``userAgent*``, ``library2``, ``setOnce``, ``products``, ...) steer the
build and never appear in an event.
"""

from __future__ import annotations

from typing import Any

from tidings.core.mapping import UNDEFINED, Field, FieldType, coerce
from tidings.core.purchases import revenue_of
from tidings.destinations.amplitude.convert import (
    js_round,
    merge_user_properties,
    platform_casing,
    session_ms,
    to_epoch_ms,
    utm_user_properties,
)
from tidings.destinations.amplitude.schema import EVENT_KEYS, REVENUE_KEYS
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.amplitude.useragent import parse_user_agent
from tidings.destinations.request import Request

PRODUCT_EVENT = "Product Purchased"
_PRODUCT_TYPES: dict[str, FieldType] = {
    "price": "number",
    "revenue": "number",
    "quantity": "number",
    "productId": "string",
    "revenueType": "string",
}
"""The typed keys of a product; a product keeps its other keys as they are."""


def library_value(p: dict[str, Any]) -> Any:
    """``library2.mapping`` when its behaviour is ``use_mapping``, else ``"segment"``."""
    library2 = p.get("library2")
    if isinstance(library2, dict) and library2.get("behavior") == "use_mapping":
        return library2.get("mapping")
    return "segment"


def apply_platform_rules(event: dict[str, Any], library: Any) -> None:
    """Platform casing, then the Web rule (analytics.js with no platform means ``Web``)."""
    platform = event.get("platform")
    if isinstance(platform, str) and platform:
        event["platform"] = platform_casing(platform)
    if library == "analytics.js" and not event.get("platform"):
        event["platform"] = "Web"


def user_agent_fields(p: dict[str, Any]) -> dict[str, Any]:
    """Parsed device fields (when parsing is on) and the raw agent (when asked for).

    A client hint wins whenever it is given, ``""`` included (Segment's ``hint ?? parsed``):
    only a missing or null hint falls back to the parsed value.
    """
    out: dict[str, Any] = {}
    agent = p.get("userAgent")
    if p.get("userAgentParsing", True) and agent:
        hints = p.get("userAgentData") or {}
        out.update(parse_user_agent(agent, hints.get("model"), hints.get("platformVersion")))
    if p.get("includeRawUserAgent") and agent:
        out["user_agent"] = agent
    return out


READ_BY_BUILD = frozenset(
    {
        "library",
        "library2",
        "setOnce",
        "setAlways",
        "add",
        "utm_properties",
        "referrer",
        "userAgent",
        "userAgentParsing",
        "userAgentData",
        "includeRawUserAgent",
        "min_id_length",
        "use_batch_endpoint",
        *REVENUE_KEYS,
    }
)
"""The fields Log Event (V2) builds from besides ``EVENT_KEYS``, ``time`` and ``session_id``
(a test holds the builder to it): controls, and the revenue fields it combines."""


def base_event(p: dict[str, Any], *, v2: bool) -> dict[str, Any]:
    """Steps 1-7: mapped event keys, platform rules, time, session, user-property operations."""
    event = {k: p[k] for k in EVENT_KEYS if k in p}
    apply_platform_rules(event, p.get("library"))
    convert_times(event, p)
    if v2:
        _v2_operations(event, p)
    else:
        utm = p.get("utm_properties") or None
        parts = utm_user_properties(utm, p.get("referrer"))
        if parts:
            traits = dict(event.get("user_properties") or {})
            traits.pop("utm_properties", None)
            traits.pop("referrer", None)
            event["user_properties"] = merge_user_properties(*parts, traits)
    library = library_value(p)
    if library is not None:
        event["library"] = library
    return event


def convert_times(event: dict[str, Any], p: dict[str, Any]) -> None:
    """Steps 3-4: ``time`` and ``session_id`` as Amplitude takes them (left out when they are
    falsy, ``0`` included, or not dates); each depends on its own field alone."""
    time = p.get("time")
    if time:
        ms = to_epoch_ms(time)
        if ms is not None:
            event["time"] = ms
    if "session_id" in p:
        session = session_ms(p["session_id"])
        if session is not None:
            event["session_id"] = session


def event_part(p: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """What :func:`base_event` makes of fields that each give one event key of their own:
    ``keys`` (event keys, copied) and ``time``/``session_id`` (converted)."""
    event = {k: p[k] for k in keys if k in p}
    convert_times(event, p)
    return event


_V2_OPERATIONS = (("setOnce", "$setOnce"), ("setAlways", "$set"), ("add", "$add"))


def _v2_operations(event: dict[str, Any], p: dict[str, Any]) -> None:
    """``setOnce``/``setAlways``/``add`` as ``$setOnce``/``$set``/``$add`` (each replacing the
    same operation in the user properties), sent only when one of its values is not ``""``.

    Amplitude does not take plain user properties beside operations, so when an operation is
    sent the plain ones go into ``$set`` (the operation's own values win): one form, never two.
    """
    props: dict[str, Any] | None = None
    for name, op in _V2_OPERATIONS:
        values = p.get(name)
        if values and isinstance(values, dict) and any(v != "" for v in values.values()):
            if props is None:
                props = dict(event.get("user_properties") or {})
            props[op] = values
    if props is None:
        return
    plain = {k: v for k, v in props.items() if not k.startswith("$")}
    if plain:
        props = {k: v for k, v in props.items() if k.startswith("$")}
        given = props.get("$set")
        props["$set"] = {**plain, **given} if isinstance(given, dict) else plain
    event["user_properties"] = props


def _with_user_agent(event: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    parsed = user_agent_fields(p)
    return {**parsed, **event} if parsed else event


def _events_body(settings: Settings, events: list[dict[str, Any]], p: dict[str, Any]) -> Request:
    body: dict[str, Any] = {"api_key": settings.api_key, "events": events}
    min_id = p.get("min_id_length")
    if isinstance(min_id, int) and min_id > 0:
        body["options"] = {"min_id_length": min_id}
    api = "batch" if p.get("use_batch_endpoint") else "httpapi"
    return Request("POST", settings.url(api), json=body)


def build_log_event(p: dict[str, Any], settings: Settings, *, v2: bool = False) -> list[Request]:
    """One request with one event, with the revenue fields the mapping gave (none by default)."""
    event = _with_user_agent(base_event(p, v2=v2), p)
    if "price" in p or "revenue" in p:  # no revenue without one of them
        event.update(revenue_fields(p))
    return [_events_body(settings, [event], p)]


def revenue_fields(x: dict[str, Any]) -> dict[str, Any]:
    """The revenue rule (:func:`~tidings.core.purchases.revenue_of`: price x quantity wins,
    else the revenue, else the price of one item); no revenue (or 0) means nothing is sent."""
    price: Any = x.get("price")
    quantity: Any = x.get("quantity")
    revenue = revenue_of(price, quantity, x.get("revenue"))
    if not revenue:
        return {}
    revenue_type = x.get("revenueType")
    out: dict[str, Any] = {
        "revenue": revenue,
        "revenueType": "Purchase" if revenue_type is None else revenue_type,
    }
    if _is_number(quantity):
        out["quantity"] = js_round(quantity)
    if price is not None:
        out["price"] = price
    if x.get("productId") is not None:
        out["productId"] = x["productId"]
    if x.get("currency") is not None:
        out["currency"] = x["currency"]
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _product(item: Any, index: int) -> dict[str, Any]:
    """One mapped product: its typed keys coerced (a null one left out), every other key kept
    (the default mapping's shape has only the typed keys; a mapping of one's own may have more)."""
    if not isinstance(item, dict):
        return {}
    out: dict[str, Any] = {}
    for key, raw in item.items():
        kind = _PRODUCT_TYPES.get(key)
        value = raw if kind is None else coerce(raw, Field(f"products[{index}].{key}", kind))
        if value is not UNDEFINED and not (kind is not None and value is None):
            out[key] = value
    return out


def build_log_purchase(p: dict[str, Any], settings: Settings) -> list[Request]:
    """The order event plus one ``Product Purchased`` event per product, in one request."""
    base = base_event(p, v2=False)
    products = [_product(item, i) for i, item in enumerate(p.get("products") or [])]
    per_product = bool(p.get("trackRevenuePerProduct"))
    main = _with_user_agent(dict(base), p)
    if not (per_product and products):
        main.update(revenue_fields(p))
    events = [main]
    insert_id = base.get("insert_id")
    for n, product in enumerate(products, start=1):
        extra = dict(base)
        extra["event_type"] = PRODUCT_EVENT
        extra["event_properties"] = product
        if per_product:
            extra.update(revenue_fields(product))
        if insert_id:
            extra["insert_id"] = f"{insert_id}:{n}"
        else:
            extra.pop("insert_id", None)
        events.append(extra)
    return [_events_body(settings, events, p)]
