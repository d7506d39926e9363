"""A destination instance: settings plus subscriptions, turning messages into sendable work.

``Destination.work(message, enqueued_ms)`` applies every enabled subscription whose trigger
matches and splits the resulting requests into :class:`Pending` items: one per Amplitude event
(so the sender can batch events from many messages and decide per event), one per form request.
This is the seam an outbox uses: it stores the items, the sender delivers them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidings.core.errors import InvalidConfig, InvalidInput
from tidings.destinations.amplitude.actions import Router, Subscription, default_subscriptions
from tidings.destinations.amplitude.currents import DEFAULT_PREFIX, Currents, parse_categories
from tidings.destinations.amplitude.delivery import Outcome, Pending
from tidings.destinations.amplitude.items import to_pending
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.amplitude.shared import SharedPart
from tidings.destinations.request import Request

MAX_SUBSCRIPTIONS = 50


@dataclass(slots=True)
class Work:
    """What one message gives an outbox: items to deliver and mapping failures to dead-letter."""

    items: list[Pending] = field(default_factory=list)
    rejected: list[Outcome] = field(default_factory=list)


@dataclass(slots=True)
class Destination:
    """``{kind: "amplitude", settings, subscriptions}`` (at most 50 subscriptions)."""

    settings: Settings = field(default_factory=Settings)
    subscriptions: Sequence[Subscription] = field(default_factory=default_subscriptions)
    _router: Router | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.subscriptions) > MAX_SUBSCRIPTIONS:
            raise InvalidConfig("subscriptions", f"at most {MAX_SUBSCRIPTIONS} subscriptions")

    def _matching(self, message: Mapping[str, Any]) -> list[Subscription]:
        """The matching enabled subscriptions; the router is rebuilt if the list was changed."""
        router = self._router
        if router is None or not router.serves(self.subscriptions):
            router = self._router = Router(self.subscriptions)
        return router.matching(message)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Destination:
        subs = data.get("subscriptions")
        if subs is None:
            settings = Settings.from_json(data.get("settings"))
            return cls(settings, default_subscriptions(settings.purchase_events))
        if not isinstance(subs, list):
            raise InvalidConfig("subscriptions", "must be a list")
        parsed = []
        for i, sub in enumerate(subs):
            try:
                parsed.append(Subscription.from_json(sub))
            except InvalidConfig as exc:
                raise InvalidConfig(f"subscriptions[{i}].{exc.field}", exc.reason) from None
        return cls(Settings.from_json(data.get("settings")), parsed)

    def requests(self, message: Mapping[str, Any], now_ms: int | None = None) -> list[Request]:
        """Every request the matching subscriptions build for one message."""
        out: list[Request] = []
        for sub in self._matching(message):
            out.extend(sub.build(message, self.settings, now_ms))
        return out

    def work(
        self, message: Mapping[str, Any], enqueued_ms: int, shared: SharedPart | None = None
    ) -> Work:
        """The pending items for one message, keyed by its ``messageId`` and subscription.

        A message a subscription cannot map (a required field missing, a value that cannot be
        coerced) is not retried: it comes back in ``rejected`` as a dead-letter outcome naming
        the field, and the other subscriptions still get their items.

        ``shared``: the part of an upload ``message`` belongs to; a subscription that splits
        then maps only the message's own fields (the same items, for less work).
        """
        work = Work()
        message_id = str(message.get("messageId") or "")
        for sub in self._matching(message):
            if shared is not None:
                item = self._shared_item(sub, message, message_id, shared, enqueued_ms)
                if item is not None:
                    work.items.append(item)
                    continue
            try:
                requests = sub.build(message, self.settings, enqueued_ms)
            except InvalidInput as exc:
                key = f"{message_id}/{sub.name}"
                work.rejected.append(Outcome(key, "dead", None, f"mapping failed: {exc}"))
                continue
            for r, request in enumerate(requests):
                work.items.extend(to_pending(request, f"{message_id}/{sub.name}/{r}", enqueued_ms))
        return work

    def _shared_item(
        self,
        sub: Subscription,
        message: Mapping[str, Any],
        message_id: str,
        shared: SharedPart,
        enqueued_ms: int,
    ) -> Pending | None:
        """``sub``'s one item for ``message`` from the part it shares, or ``None`` when that
        cannot be used (the subscription does not split, or the fields failed to map)."""
        split = sub.split()
        if split is None:
            return None
        heads = shared.heads
        key = id(sub)
        if key in heads:
            head = heads[key]
        else:
            head = heads[key] = split.head(shared.message, self.settings)
        if head is None:
            return None
        event = split.event(head, message)
        if event is None:
            return None
        return Pending(
            f"{message_id}/{sub.name}/0",
            enqueued_ms,
            event=event,
            api=head.api,
            options=head.options,
        )


def currents_from_json(data: Mapping[str, Any]) -> Currents:
    """``{kind: "amplitude-currents", settings: {apiKey, endpoint, prefix, categories,
    purchaseEvents}}``."""
    settings = data.get("settings") or {}
    if not isinstance(settings, Mapping):
        raise InvalidConfig("settings", "must be an object")
    prefix = settings.get("prefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or not prefix:
        raise InvalidConfig("settings.prefix", "must be a non-empty string")
    return Currents(
        settings=Settings.from_json(settings),
        prefix=prefix,
        categories=parse_categories(settings.get("categories")),
    )
