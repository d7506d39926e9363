"""Actions, presets and subscriptions: which fields an action has and how it builds requests."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import is_
from typing import Any

import orjson

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.core.events import (
    CUSTOM_PROPERTY_CHANGED,
    PLUMBING_EVENTS,
    SESSION_FINISHED,
    SESSION_STARTED,
)
from tidings.core.mapping import CompiledFields, Field, Trigger, parse_trigger
from tidings.core.mapping.paths import UNDEFINED, compile_getter
from tidings.core.mapping.triggers import AllOf, AnyOf, Compare, Exists
from tidings.core.purchases import (
    CURRENCY_KEYS,
    DEFAULT_PURCHASE_EVENTS,
    ORDER_COMPLETED,
    PRICE_KEYS,
    PRODUCT_ID_KEYS,
    QUANTITY_KEYS,
    REVENUE_KEYS,
)
from tidings.destinations.amplitude import schema
from tidings.destinations.amplitude.events import build_log_event, build_log_purchase
from tidings.destinations.amplitude.generated import FieldsFunction, generated_fields
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.amplitude.shared import SplitMapping
from tidings.destinations.amplitude.users import (
    build_group_identify,
    build_identify,
    build_map_user,
)
from tidings.destinations.message import (
    AMPLITUDE_INTEGRATIONS,
    USER_PROPERTY_OPERATIONS,
    integration_enabled,
)
from tidings.destinations.request import Request

Builder = Callable[[dict[str, Any], Settings, int | None], list[Request]]


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    fields: tuple[Field, ...]
    build: Builder
    default_trigger: str


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "logEvent",
            schema.LOG_EVENT_FIELDS,
            lambda p, s, _now: build_log_event(p, s, v2=False),
            'type = "track"',
        ),
        Action(
            "logEventV2",
            schema.LOG_EVENT_V2_FIELDS,
            lambda p, s, _now: build_log_event(p, s, v2=True),
            'type = "track"',
        ),
        Action(
            "logPurchase",
            schema.LOG_PURCHASE_FIELDS,
            lambda p, s, _now: build_log_purchase(p, s),
            'type = "track"',
        ),
        Action(
            "identifyUser",
            schema.IDENTIFY_FIELDS,
            lambda p, s, _now: build_identify(p, s),
            'type = "identify"',
        ),
        Action(
            "groupIdentifyUser",
            schema.GROUP_IDENTIFY_FIELDS,
            build_group_identify,
            'type = "group"',
        ),
        Action(
            "mapUser",
            schema.MAP_USER_FIELDS,
            lambda p, s, _now: build_map_user(p, s),
            'type = "alias"',
        ),
    )
}

_VIEWED = {"event_type": {"@template": "Viewed {{name}}"}}
_SESSION_ID = {"@path": "$.context.session.startedAt"}


def _first_property(keys: tuple[str, ...]) -> dict[str, Any]:
    """The first of ``properties.<key>`` present, as a mapping directive."""
    directive: dict[str, Any] = {"@path": f"$.properties.{keys[-1]}"}
    for key in reversed(keys[:-1]):
        path = {"@path": f"$.properties.{key}"}
        directive = {"@if": {"exists": path, "then": path, "else": directive}}
    return directive


PURCHASE_MAPPING: dict[str, Any] = {
    "price": _first_property(PRICE_KEYS),
    "quantity": _first_property(QUANTITY_KEYS),
    "revenue": _first_property(REVENUE_KEYS),
    "productId": _first_property(PRODUCT_ID_KEYS),
    "currency": _first_property(CURRENCY_KEYS),
}
"""Log Purchase's fields read by the SDK's purchase conventions (:mod:`tidings.core.purchases`)."""

NOT_TRACKED = (CUSTOM_PROPERTY_CHANGED, *sorted(PLUMBING_EVENTS))
"""SDK events Track Calls leaves out besides sessions and purchases: a property change is an
Identify (Custom Property Changes), and the SDK's plumbing is no user action."""


def _quoted(text: str) -> str:
    return orjson.dumps(text).decode()


def presets(
    purchase_events: frozenset[str] = DEFAULT_PURCHASE_EVENTS,
) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Preset name to (trigger, action, mapping) for an instance whose app purchases with
    ``purchase_events`` (``Order Completed`` is Segment's purchase and has its own preset).

    Every message goes to at most one event preset, so one ``track()`` is one Amplitude event:
    Track Calls leaves out the purchases, the session events (their presets send them as
    ``session_start``/``session_end``; a second copy under the same ``insert_id`` would be
    dropped by Amplitude anyway), property changes and the SDK's plumbing events.
    """
    purchases = sorted(purchase_events - {ORDER_COMPLETED})
    skipped = (ORDER_COMPLETED, *purchases, SESSION_STARTED, SESSION_FINISHED, *NOT_TRACKED)
    out: dict[str, tuple[str, str, dict[str, Any]]] = {
        "Track Calls": (
            'type = "track"' + "".join(f" and event != {_quoted(n)}" for n in skipped),
            "logEventV2",
            {},
        ),
        "Order Completed Calls": (
            f'type = "track" and event = {_quoted(ORDER_COMPLETED)}',
            "logPurchase",
            {},
        ),
    }
    if purchases:
        names = " or ".join(f"event = {_quoted(n)}" for n in purchases)
        names = f"({names})" if len(purchases) > 1 else names
        out["Purchase Calls"] = (f'type = "track" and {names}', "logPurchase", PURCHASE_MAPPING)
    out.update(
        {
            "Page Calls": ('type = "page"', "logEventV2", _VIEWED),
            "Screen Calls": ('type = "screen"', "logEventV2", _VIEWED),
            "Identify Calls": ('type = "identify"', "identifyUser", {}),
            "Session Started": (
                f'type = "track" and event = {_quoted(SESSION_STARTED)}',
                "logEventV2",
                {"event_type": "session_start", "session_id": _SESSION_ID},
            ),
            "Session Finished": (
                f'type = "track" and event = {_quoted(SESSION_FINISHED)}',
                "logEventV2",
                {"event_type": "session_end", "session_id": _SESSION_ID},
            ),
            "Custom Property Changes": (
                f'type = "track" and event = {_quoted(CUSTOM_PROPERTY_CHANGED)}',
                "identifyUser",
                {"user_properties": {"@path": f"$.{USER_PROPERTY_OPERATIONS}"}},
            ),
        }
    )
    return out


PRESETS = presets()
"""The presets of an instance with the default purchase events (see :func:`presets`)."""


def amplitude_enabled(message: Mapping[str, Any]) -> bool:
    """Whether Segment's ``integrations`` object lets ``message`` reach Amplitude."""
    return integration_enabled(message, AMPLITUDE_INTEGRATIONS)


def get_action(name: str) -> Action:
    try:
        return ACTIONS[name]
    except KeyError:
        raise InvalidConfig(
            "action", f"unknown action {name!r}; known: {', '.join(ACTIONS)}"
        ) from None


@dataclass(slots=True)
class Subscription:
    """``{name, enabled, trigger, action, mapping}``, compiled once: trigger and fields."""

    name: str
    action: str
    trigger: str | None = None
    mapping: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True
    _action: Action = field(init=False, repr=False)
    _trigger: Trigger = field(init=False, repr=False)
    _fields: CompiledFields = field(init=False, repr=False)
    _apply: FieldsFunction = field(init=False, repr=False)
    _match: Callable[[Mapping[str, Any]], bool] = field(init=False, repr=False)
    _split: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._action = get_action(self.action)
        if self.mapping is not None and not isinstance(self.mapping, Mapping):
            raise InvalidConfig("mapping", "must be an object of field to directive")
        try:
            self._trigger = parse_trigger(self.trigger or self._action.default_trigger)
            self._fields = CompiledFields(self._action.fields, self.mapping)
            self._apply = generated_fields(self._fields, f"mapping {self.name}")
            self._match = _matcher(self._trigger)
            self._split = _NOT_SPLIT_YET
        except InvalidConfig:
            raise
        except InvalidInput as exc:  # a bad trigger or mapping is a configuration error here
            raise InvalidConfig(exc.field, exc.reason) from None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Subscription:
        if not isinstance(data, Mapping):
            raise InvalidConfig("subscription", "must be an object")
        if "action" not in data:
            raise InvalidConfig("subscription.action", "is required")
        return cls(
            name=str(data.get("name") or data["action"]),
            action=data["action"],
            trigger=data.get("trigger"),
            mapping=data.get("mapping") or {},
            enabled=bool(data.get("enabled", True)),
        )

    @classmethod
    def preset(
        cls, name: str, purchase_events: frozenset[str] = DEFAULT_PURCHASE_EVENTS
    ) -> Subscription:
        known = presets(purchase_events)
        if name not in known:
            raise InvalidConfig("preset", f"unknown preset {name!r}; known: {', '.join(known)}")
        trigger, action, mapping = known[name]
        return cls(name=name, action=action, trigger=trigger, mapping=mapping)

    def matches(self, message: Mapping[str, Any]) -> bool:
        return self.enabled and self._match(message) and amplitude_enabled(message)

    def build(
        self, message: Mapping[str, Any], settings: Settings, now_ms: int | None = None
    ) -> list[Request]:
        """The requests for one message (whether or not the trigger matches it)."""
        return self._action.build(self._apply(message), settings, now_ms)

    def split(self) -> SplitMapping | None:
        """The fields split into those an upload's events share and each event's own, or
        ``None`` (:mod:`~tidings.destinations.amplitude.shared`). Made at first use: only
        delivery needs it."""
        if self._split is _NOT_SPLIT_YET:
            self._split = SplitMapping.of(self.action, self._fields.specs, self.mapping or {})
        split: SplitMapping | None = self._split
        return split


_NOT_SPLIT_YET = object()


def _trigger_paths(trigger: Any) -> set[tuple[str, ...]] | None:
    """Every path a trigger reads, or ``None`` for a node this does not know."""
    if isinstance(trigger, Compare | Exists):
        return {trigger.path}
    if isinstance(trigger, AllOf | AnyOf):
        out: set[tuple[str, ...]] = set()
        for term in trigger.terms:
            paths = _trigger_paths(term)
            if paths is None:
                return None
            out |= paths
        return out
    return None


_SCALAR_CLASSES = frozenset({str, int, float, bool, type(None), type(UNDEFINED)})


def _trigger_key(
    getters: Sequence[Callable[[Any], Any]], message: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The memo key of a message for triggers reading ``getters``: each value with its class
    (``true`` is not ``1``), or ``None`` when a value is an object or a list."""
    key: list[Any] = []
    for get in getters:
        value = get(message)
        cls = value.__class__
        if cls not in _SCALAR_CLASSES:
            return None
        key.append(cls)
        key.append(value)
    return tuple(key)


def _matcher(trigger: Trigger) -> Callable[[Mapping[str, Any]], bool]:
    """``trigger`` memoised on the values it reads (usually ``type`` and ``event``).

    A pipeline evaluates every subscription's trigger for every message, and a few event names
    make up most traffic: the answer for a name is computed once. Values that are not scalars
    (objects, lists) are evaluated directly.
    """
    paths = _trigger_paths(trigger)
    if paths is None:
        return trigger
    getters = [compile_getter(path) for path in sorted(paths)]
    memo: dict[tuple[Any, ...], bool] = {}

    def match(message: Mapping[str, Any]) -> bool:
        key = _trigger_key(getters, message)
        if key is None:
            return trigger(message)
        hit = memo.get(key)
        if hit is None:
            if len(memo) > 10_000:
                memo.clear()
            hit = memo[key] = trigger(message)
        return hit

    return match


class Router:
    """Which of a list of subscriptions' triggers match a message, memoised for the whole list.

    ``Destination.work`` asks every subscription for every message; when all triggers read
    known paths (``type``, ``event``...), one lookup on those values answers for all of them.
    ``enabled`` is read at each call, so switching a subscription off takes effect at once.
    """

    __slots__ = ("_getters", "_memo", "_subs")

    def __init__(self, subscriptions: Sequence[Subscription]) -> None:
        self._subs = tuple(subscriptions)
        paths: set[tuple[str, ...]] = set()
        getters: list[Callable[[Any], Any]] | None = []
        for sub in self._subs:
            read = _trigger_paths(sub._trigger)
            if read is None:
                getters = None
                break
            paths |= read
        if getters is not None:
            getters = [compile_getter(path) for path in sorted(paths)]
        self._getters = getters
        self._memo: dict[tuple[Any, ...], tuple[Subscription, ...]] = {}

    def serves(self, subscriptions: Sequence[Subscription]) -> bool:
        """Whether this router was built for these very subscriptions (identity, in order)."""
        subs = self._subs
        return len(subs) == len(subscriptions) and all(map(is_, subs, subscriptions))

    def matching(self, message: Mapping[str, Any]) -> list[Subscription]:
        """The enabled subscriptions whose trigger matches ``message``, in list order (none
        when its ``integrations`` object keeps it from Amplitude)."""
        if message.get("integrations") and not amplitude_enabled(message):
            return []
        key = None if self._getters is None else _trigger_key(self._getters, message)
        if key is None:
            return [sub for sub in self._subs if sub.enabled and sub._match(message)]
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) > 10_000:
                self._memo.clear()
            hit = self._memo[key] = tuple(s for s in self._subs if s._match(message))
        return [sub for sub in hit if sub.enabled]


def default_subscriptions(
    purchase_events: frozenset[str] = DEFAULT_PURCHASE_EVENTS,
) -> list[Subscription]:
    """What a new instance gets: every preset, for the app's purchase events."""
    return [
        Subscription(name=name, action=action, trigger=trigger, mapping=mapping)
        for name, (trigger, action, mapping) in presets(purchase_events).items()
    ]
