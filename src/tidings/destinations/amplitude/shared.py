"""What the events of one upload share, mapped once for all of them.

Every event an SDK uploads carries its upload's device, user, custom properties and session;
only its name, id, properties and time are its own (:data:`~.items.EVENT_ROOTS`). The server
stores those shared blocks as one prefix per upload and session, so a log reader can tell which
records share them, and build each record's message from the first one's
(:class:`SharedMessages`).

A Log Event (V2) subscription then maps what is shared once per upload and session
(:meth:`SplitMapping.head`) and, per event, only the fields that read the event's own keys
(:meth:`SplitMapping.event`). That is exact when those fields each give one event key of their
own: the build copies (or converts, for ``time`` and ``session_id``) them and reads them for
nothing else. Fields the build combines (platform with the library, user properties with the
set operations, the user agent's, the library, endpoint and options) must all come from the
shared part; otherwise, and for every other action, the subscription maps each message whole.
Tests hold both ways to the same events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from tidings.core.errors import InvalidInput
from tidings.core.logpayload import laid_out, own_event
from tidings.core.mapping import CompiledFields, Field, read_roots
from tidings.destinations.amplitude.delivery import Pending
from tidings.destinations.amplitude.events import READ_BY_BUILD, build_log_event, event_part
from tidings.destinations.amplitude.generated import FieldsFunction, generated_fields
from tidings.destinations.amplitude.items import to_pending
from tidings.destinations.amplitude.schema import EVENT_KEYS
from tidings.destinations.amplitude.settings import Settings
from tidings.destinations.amplitude.useragent import USER_AGENT_KEYS
from tidings.destinations.logmessage import EVENT_ROOTS, message_from_payload, message_over

SPLIT_ACTIONS = {"logEvent": False, "logEventV2": True}
"""The actions whose build splits (name: whether it is V2)."""

COMBINED = READ_BY_BUILD | {"platform", "user_properties"} | USER_AGENT_KEYS
"""Fields the build combines with others (or that the user agent may set): they must all come
from the shared part for a subscription to split."""


class SplitMapping:
    """A Log Event (V2) subscription's fields, split into the shared ones and the event's own."""

    __slots__ = ("_head", "_keys", "_own", "_v2")

    def __init__(self, head: FieldsFunction, own: FieldsFunction, keys: tuple[str, ...], v2: bool):
        self._head = head
        self._own = own
        self._keys = keys
        self._v2 = v2

    @classmethod
    def of(
        cls, action: str, specs: tuple[tuple[Field, Any, Any], ...], mapping: Mapping[str, Any]
    ) -> SplitMapping | None:
        """The split of an action's resolved fields (``CompiledFields.specs``) under
        ``mapping``, or ``None`` when it does not split."""
        v2 = SPLIT_ACTIONS.get(action)
        if v2 is None:
            return None
        shared: list[Field] = []
        own: list[Field] = []
        for f, spec, _kept in specs:
            roots = read_roots(spec)
            if roots is None or roots & EVENT_ROOTS:
                own.append(f)
            else:
                shared.append(f)
        names = {f.name for f in own}
        if not names or names & COMBINED:
            return None
        keys = tuple(k for k in EVENT_KEYS if k in names)
        head = generated_fields(CompiledFields(tuple(shared), mapping), "shared fields")
        own_fields = generated_fields(CompiledFields(tuple(own), mapping), "own fields")
        return cls(head, own_fields, keys, v2)

    def head(self, message: Mapping[str, Any], settings: Settings) -> Pending | None:
        """The item the shared fields of ``message`` give (any message of the upload and
        session will do): its event holds the shared event keys, its ``api`` and ``options``
        are every event's. ``None`` when they cannot be mapped (each message then takes the
        whole path, which reports the failure)."""
        try:
            p = self._head(message)
        except InvalidInput:
            return None
        (request,) = build_log_event(p, settings, v2=self._v2)
        (item,) = to_pending(request, "", 0)
        return item

    def event(self, head: Pending, message: Mapping[str, Any]) -> dict[str, Any] | None:
        """The whole event for ``message``, or ``None`` when its own fields cannot be mapped."""
        try:
            p = self._own(message)
        except InvalidInput:
            return None
        event = dict(head.event or ())
        event.update(event_part(p, self._keys))
        return event


@dataclass(slots=True)
class SharedPart:
    """One upload and session: the message of its first event, and per subscription (by
    ``id``) what its shared fields gave (``None``: they could not be mapped)."""

    message: dict[str, Any]
    heads: dict[int, Pending | None] = field(default_factory=dict)


class SharedMessages:
    """Canonical messages of log records, built once per upload and session and then only for
    each event's own keys. Kept for one read of the log (one chunk of records)."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: dict[tuple[bytes, str | None, str | None], dict[Any, SharedPart | None]] = {}
        """Per prefix (and device and user ids), per ``sessionId``: the part, or ``None`` for
        records whose message is not an SDK event's."""

    def message(
        self,
        kind: str,
        payload: bytes,
        prefix: bytes,
        device_id: str | None,
        user_id: str | None,
    ) -> tuple[dict[str, Any] | None, SharedPart | None]:
        """The message of one record, and the part it shares with records read before it
        (``None`` for the first record of a part, and for records that share nothing). Raises
        what reading the whole payload raises.

        The first record of a part takes the whole path: mapping the shared fields pays off
        only from the second event on (an upload of one event would pay twice).
        """
        if not laid_out(kind, payload, prefix):
            return self._whole(kind, payload, device_id, user_id)[0], None
        key = (prefix, device_id, user_id)
        sessions = self._parts.get(key)
        if sessions is not None:
            event = own_event(payload, prefix)
            part = sessions.get(_session_of(event))
            if part is not None and event is not None:
                return message_over(part.message, event), part
        message, whole = self._whole(kind, payload, device_id, user_id)
        session = _session_of(whole.get("event"))
        if session is not _NOT_SHAREABLE:
            sdk = message is not None and whole.get("source") != "segment"
            part = SharedPart(message) if sdk and message is not None else None
            self._parts.setdefault(key, {})[session] = part
        return message, None

    @staticmethod
    def _whole(
        kind: str, payload: bytes, device_id: str | None, user_id: str | None
    ) -> tuple[dict[str, Any] | None, Any]:
        whole = orjson.loads(payload)
        return message_from_payload(kind, whole, device_id=device_id, user_id=user_id), whole


_NOT_SHAREABLE = object()


def _session_of(event: Any) -> Any:
    """The ``sessionId`` of an event object (a string or ``None``), or :data:`_NOT_SHAREABLE`
    when there is no event object or its ``sessionId`` is neither."""
    if event.__class__ is not dict:
        return _NOT_SHAREABLE
    session = event.get("sessionId")
    return session if session is None or session.__class__ is str else _NOT_SHAREABLE
