"""Small typed readers for campaign JSON that raise :class:`InvalidCampaign` with the JSON path.

The admin backend stores unset optional fields as explicit ``null``; every reader here treats
``null`` exactly like an absent key so such documents load unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from tidings.core.errors import InvalidCampaign

JsonObj = Mapping[str, Any]


def fail(path: str, reason: str) -> NoReturn:
    raise InvalidCampaign(path, reason)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def obj(value: object, path: str) -> JsonObj:
    if not isinstance(value, Mapping):
        fail(path, "must be an object")
    return value


def opt_obj(parent: JsonObj, key: str, path: str) -> JsonObj | None:
    value = parent.get(key)
    return None if value is None else obj(value, join(path, key))


def arr(value: object, path: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        fail(path, "must be an array")
    return value


def string(parent: JsonObj, key: str, path: str, *, default: str | None = None) -> str:
    value = parent.get(key)
    if value is None:
        if default is not None:
            return default
        fail(join(path, key), "is required")
    if not isinstance(value, str) or not value:
        fail(join(path, key), "must be a non-empty string")
    return value


def enum(
    parent: JsonObj, key: str, path: str, allowed: Sequence[str], default: str | None = None
) -> str:
    value = parent.get(key)
    if value is None:
        if default is not None:
            return default
        fail(join(path, key), f"is required (one of {', '.join(allowed)})")
    if value not in allowed:
        fail(join(path, key), f"must be one of {', '.join(allowed)}")
    return str(value)


def integer(
    parent: JsonObj, key: str, path: str, *, minimum: int | None = None, default: int | None = None
) -> int:
    value = parent.get(key)
    if value is None:
        if default is not None:
            return default
        fail(join(path, key), "is required")
    return int_value(value, join(path, key), minimum)


def opt_integer(parent: JsonObj, key: str, path: str, *, minimum: int | None = None) -> int | None:
    value = parent.get(key)
    return None if value is None else int_value(value, join(path, key), minimum)


def int_value(value: object, path: str, minimum: int | None = None) -> int:
    """An integer (a float with no fraction, ``2.0`` from some JSON writers, is accepted)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int or (minimum is not None and value < minimum):
        fail(path, "must be an integer" + (f" >= {minimum}" if minimum is not None else ""))
    return value


def number(parent: JsonObj, key: str, path: str, *, default: float | None = None) -> float:
    value = parent.get(key)
    if value is None:
        if default is not None:
            return default
        fail(join(path, key), "is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(join(path, key), "must be a number")
    return float(value)
