"""What a purchase is, and where its price, quantity, revenue, currency and product are read.

One definition for every exporter: the event stream's ``_monetization.purchase`` records, the
Amplitude purchase presets and Currents mode's ``Purchase`` events all ask :func:`is_purchase`
and read the property conventions below, so an event is a purchase (and has the same price)
everywhere or nowhere.

* The app's purchase events are ``PurchaseCompleted`` (the SDK's own example of a purchase)
  unless a destination names others (``purchaseEvents``); Segment's ``Order Completed`` is
  always a purchase.
* The SDK's property conventions name a purchase's values: ``price`` (of one item),
  ``quantity``, ``revenue`` (of the whole purchase), ``currency`` (ISO 4217) and the product as
  ``productId``, ``product_id`` or ``sku`` (the first one present). Exporters may read more
  aliases after these (the stream reads Pinpoint's and Segment's names too).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

from tidings.core.errors import InvalidConfig
from tidings.core.events import MAX_NAME_LENGTH, SYSTEM_EVENT_NAMES

PURCHASE_COMPLETED: Final = "PurchaseCompleted"
ORDER_COMPLETED: Final = "Order Completed"
"""Segment's ecommerce "order completed" event: a purchase whatever ``purchaseEvents`` says."""

DEFAULT_PURCHASE_EVENTS: Final = frozenset({PURCHASE_COMPLETED})
MAX_PURCHASE_EVENTS: Final = 50

PRICE_KEYS: Final = ("price",)
"""The price of one item."""
QUANTITY_KEYS: Final = ("quantity",)
REVENUE_KEYS: Final = ("revenue",)
"""The amount of the whole purchase."""
PRODUCT_ID_KEYS: Final = ("productId", "product_id", "sku")
CURRENCY_KEYS: Final = ("currency",)
TRANSACTION_KEYS: Final = ("transactionId", "transaction_id", "orderId", "order_id")


def is_purchase(name: str, purchase_events: frozenset[str] = DEFAULT_PURCHASE_EVENTS) -> bool:
    """Whether an event of this name is a purchase (``Order Completed`` always is)."""
    return name == ORDER_COMPLETED or name in purchase_events


def parse_purchase_events(raw: object, path: str = "purchaseEvents") -> frozenset[str]:
    """A ``purchaseEvents`` setting: a list of event names (``None``: the default list).

    System event names are refused: the SDK emits them, an app never purchases with one.
    """
    if raw is None:
        return DEFAULT_PURCHASE_EVENTS
    if not isinstance(raw, list):
        raise InvalidConfig(path, "must be a list of event names")
    if len(raw) > MAX_PURCHASE_EVENTS:
        raise InvalidConfig(path, f"at most {MAX_PURCHASE_EVENTS} event names")
    for index, name in enumerate(raw):
        where = f"{path}[{index}]"
        if not isinstance(name, str) or not name:
            raise InvalidConfig(where, "must be a non-empty string")
        if len(name) > MAX_NAME_LENGTH:
            raise InvalidConfig(where, f"must be at most {MAX_NAME_LENGTH} characters")
        if name in SYSTEM_EVENT_NAMES:
            raise InvalidConfig(where, f"{name!r} is a system event, not a purchase")
    return frozenset(raw)


def first_number(properties: Mapping[str, Any], keys: Iterable[str]) -> int | float | None:
    """The first of ``keys`` holding a finite number (a numeric string counts), else ``None``."""
    for key in keys:
        value = properties.get(key)
        if type(value) is int or (type(value) is float and math.isfinite(value)):
            return value
        if type(value) is str:
            try:
                number = float(value)
            except ValueError:
                continue
            if math.isfinite(number):
                return int(number) if number.is_integer() and "." not in value else number
    return None


def first_text(properties: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    """The first of ``keys`` holding a non-empty string (an integer is read as its digits)."""
    for key in keys:
        value = properties.get(key)
        if type(value) is str and value:
            return value
        if type(value) is int:
            return str(value)
    return None


def revenue_of(price: Any, quantity: Any, revenue: Any) -> int | float | None:
    """The revenue of a purchase, by Amplitude's rule with its documented default quantity of 1.

    ``price * quantity`` when both are numbers (it wins over a revenue sent beside them), else
    the revenue given, else the price alone (one item). ``None`` when none of them is a number.
    """
    if _is_number(price) and _is_number(quantity):
        return price * quantity  # type: ignore[no-any-return]
    if _is_number(revenue):
        return revenue  # type: ignore[no-any-return]
    if _is_number(price):
        return price  # type: ignore[no-any-return]
    return None


def _is_number(value: Any) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))
