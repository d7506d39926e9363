"""Small typed readers for campaign JSON that raise :class:`InvalidCampaign` with the JSON path.

The admin backend stores unset optional fields as explicit ``null``; every reader here treats
``null`` exactly like an absent key so such documents load unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, ParamSpec, TypeVar

from tidings.core.errors import InvalidCampaign

JsonObj = Mapping[str, Any]
P = ParamSpec("P")
T = TypeVar("T")


class Problems:
    """Collects :class:`InvalidCampaign` errors so one pass over a campaign reports all of them.

    Each independent part of a campaign is read through :meth:`attempt`: a part that fails adds its
    error(s) and yields ``None``, and reading goes on with the next part.
    """

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: list[InvalidCampaign] = []

    def attempt(self, read: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T | None:
        try:
            return read(*args, **kwargs)
        except InvalidCampaign as exc:
            self.found.extend(exc.errors)
            return None

    def each(self, items: Sequence[Any], path: str, read: Callable[[object, str], T]) -> list[T]:
        """Read every item of an array on its own (``path[i]``); the items that were valid."""
        out = []
        for i, item in enumerate(items):
            value = self.attempt(read, item, f"{path}[{i}]")
            if value is not None:
                out.append(value)
        return out

    def raise_first(self) -> None:
        """Raise the first problem (carrying all of them), if there is any."""
        if self.found:
            first = self.found[0]
            raise InvalidCampaign(first.field, first.reason, self.found)


def fail(path: str, reason: str) -> NoReturn:
    raise InvalidCampaign(path, reason)


def required_or(reason: str, value: object) -> str:
    """``reason`` for a value that is there but wrong; "is required (...)" for a missing one."""
    return f"is required ({reason.removeprefix('must be ')})" if value is None else reason


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def obj(value: object, path: str) -> JsonObj:
    if not isinstance(value, Mapping):
        fail(path, required_or("must be an object", value))
    return value


def opt_obj(parent: JsonObj, key: str, path: str) -> JsonObj | None:
    value = parent.get(key)
    return None if value is None else obj(value, join(path, key))


def arr(value: object, path: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        fail(path, required_or("must be an array", value))
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
    try:
        return float(value)
    except OverflowError:
        fail(join(path, key), "must be a number within the range of a double")
