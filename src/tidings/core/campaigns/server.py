"""Server-side campaigns: the ``Webhook`` content and its body template.

A campaign with ``channel: "server"`` is evaluated by the server (the same engine the device
runs) for events from any source, and each ``SUCCESS`` calls a webhook destination. Its
``content`` is ``{"destinationId", "channelType", "body"}``: ``body`` is a JSON object whose
string values may reference the triggering event, the user and the device::

    {"to": "{{traits.email}}", "plan": "{{event.properties.plan}}",
     "text": "Hi {{traits.name}}, welcome to {{event.properties.plan}}!"}

Rendering rules (the decisions where no contract speaks):

- A string that is exactly one reference (``"{{event.properties.amount}}"``) becomes the
  referenced JSON value with its own type (a number stays a number, an object stays an object);
  ``null`` when the value is missing.
- A reference inside other text becomes text: strings as they are, numbers and booleans in their
  JSON form, objects and arrays as compact JSON; a missing value is the empty string.
- Object keys are never templated. ``{{`` / ``}}`` that do not form a reference are refused
  when the campaign is validated, so a typo cannot reach a receiver.
- A path is dot-separated keys from one of :data:`ROOTS`; a key made of digits also indexes an
  array (``event.properties.items.0.sku``).

Compiled once when the campaign is parsed; rendering is a walk over the compiled tree. Sans-IO.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from tidings.core.bounds import MAX_JSON_DEPTH, depth_message, too_deep
from tidings.core.campaigns import reader as r

SERVER_CHANNEL: Final = "server"
IN_APP_CHANNEL: Final = "in_app"
CHANNELS: Final = (IN_APP_CHANNEL, SERVER_CHANNEL)
SERVER_TYPES: Final = ("Webhook",)
CHANNEL_TYPES: Final = ("CUSTOM", "EMAIL", "SMS", "PUSH")
ROOTS: Final = ("event", "user", "traits", "device", "campaign")
"""What a body may reference: the triggering ``event`` (``id``, ``name``, ``type``,
``timestamp``, ``sessionId``, ``properties``), the ``user`` (``userId``, ``anonymousId``,
``deviceId``), the user's ``traits`` (SDK custom properties and Segment ``identify`` traits),
the ``device`` as last seen, and the ``campaign`` (``id``, ``name``, ``treatmentId``,
``decisionId``)."""
MAX_BODY_BYTES: Final = 65_536
"""Largest body template (its compact JSON)."""
SERVER_ONLY_SLOTS_REFUSED: Final = ("installDate", "appInstallVersion")
"""Targeting slots a server campaign may not use: the server never learns them."""

_REF: Final = re.compile(r"\{\{([^{}]*)\}\}")
_KEY: Final = re.compile(r"^[^.{}\s](?:[^.{}]*[^.{}\s])?$")


def is_server_campaign(body: Mapping[str, Any]) -> bool:
    """Whether a stored campaign document is a server campaign (by channel, else by type):
    cheap enough to filter a device's configuration without parsing campaigns."""
    channel = body.get("channel")
    if channel is not None:
        return bool(channel == SERVER_CHANNEL)
    return body.get("type") in SERVER_TYPES


@dataclass(frozen=True, slots=True)
class _Ref:
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Text:
    parts: tuple[str | _Ref, ...]


@dataclass(frozen=True, slots=True)
class _Obj:
    items: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class _Arr:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class _Lit:
    value: Any


Node = _Ref | _Text | _Obj | _Arr | _Lit


@dataclass(frozen=True, slots=True)
class BodyTemplate:
    """A compiled body: :meth:`render` it against a context ``{root: value}``."""

    root: Node
    source: Any

    @property
    def references(self) -> tuple[str, ...]:
        """Every reference, dotted, in document order (editors show them)."""
        out: list[str] = []
        _collect(self.root, out)
        return tuple(out)

    def render(self, context: Mapping[str, Any]) -> Any:
        """The body with every reference replaced (see the module for the rules). Never
        raises for any JSON-like context."""
        return _render(self.root, context)


@dataclass(frozen=True, slots=True)
class ServerContent:
    """A server campaign's content: where it goes, what the channel is, what it says."""

    destination_id: str
    channel_type: str
    body: BodyTemplate


def parse_server_content(raw: object, path: str) -> ServerContent:
    """``{"destinationId", "channelType"?, "body"}``; ``channelType`` defaults to ``CUSTOM``."""
    content = r.obj(raw, path)
    unknown = sorted(k for k in content if k not in ("destinationId", "channelType", "body"))
    if unknown:
        r.fail(r.join(path, unknown[0]), "unknown field (destinationId, channelType, body)")
    destination = r.string(content, "destinationId", path)
    channel_type = r.enum(content, "channelType", path, CHANNEL_TYPES, default="CUSTOM")
    body = compile_body(content.get("body"), r.join(path, "body"))
    return ServerContent(destination, channel_type, body)


def compile_body(raw: object, path: str) -> BodyTemplate:
    """Check and compile a body template (a JSON object); errors name the JSON path."""
    r.obj(raw, path)
    deep = too_deep(raw, MAX_JSON_DEPTH)
    if deep is not None:
        r.fail(path, depth_message(MAX_JSON_DEPTH))
    try:
        size = len(orjson.dumps(raw))
    except (TypeError, orjson.JSONEncodeError) as exc:
        r.fail(path, f"must be JSON: {exc}")
    if size > MAX_BODY_BYTES:
        r.fail(path, f"must be at most {MAX_BODY_BYTES} bytes as JSON (is {size})")
    return BodyTemplate(_compile(raw, path), raw)


def _compile(value: object, path: str) -> Node:
    if isinstance(value, str):
        return _compile_text(value, path)
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if not isinstance(key, str):
                r.fail(path, "keys must be strings")
            items.append((key, _compile(item, f"{path}.{key}")))
        return _Obj(tuple(items))
    if isinstance(value, list | tuple):
        return _Arr(tuple(_compile(item, f"{path}[{i}]") for i, item in enumerate(value)))
    if value is None or isinstance(value, bool | int | float):
        return _Lit(value)
    r.fail(path, "must be JSON")


def _compile_text(text: str, path: str) -> Node:
    if "{{" not in text and "}}" not in text:
        return _Lit(text)
    parts: list[str | _Ref] = []
    at = 0
    for match in _REF.finditer(text):
        before = text[at : match.start()]
        if "{{" in before or "}}" in before:
            r.fail(path, "has a '{{' or '}}' that is not part of a {{reference}}")
        if before:
            parts.append(before)
        parts.append(_Ref(_parse_path(match.group(1), path)))
        at = match.end()
    rest = text[at:]
    if "{{" in rest or "}}" in rest:
        r.fail(path, "has a '{{' or '}}' that is not part of a {{reference}}")
    if rest:
        parts.append(rest)
    if len(parts) == 1 and isinstance(parts[0], _Ref):
        return parts[0]
    return _Text(tuple(parts))


def _parse_path(inner: str, path: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in inner.strip().split("."))
    if not keys or keys[0] not in ROOTS:
        r.fail(path, f"reference {{{{{inner.strip()}}}}} must start with one of {', '.join(ROOTS)}")
    if any(not _KEY.match(k) for k in keys):
        r.fail(path, f"reference {{{{{inner.strip()}}}}} has an empty or malformed key")
    return keys


_MISSING: Final = object()


def lookup(context: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The value at ``path`` in ``context`` (``_MISSING`` when any step is absent)."""
    value: Any = context
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key, _MISSING)
        elif isinstance(value, list | tuple) and key.isdigit():
            index = int(key)
            value = value[index] if index < len(value) else _MISSING
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def _as_text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(value)


def _render(node: Node, context: Mapping[str, Any]) -> Any:
    if isinstance(node, _Lit):
        return node.value
    if isinstance(node, _Ref):
        value = lookup(context, node.path)
        return None if value is _MISSING else value
    if isinstance(node, _Text):
        return "".join(
            p if isinstance(p, str) else _as_text(lookup(context, p.path)) for p in node.parts
        )
    if isinstance(node, _Obj):
        return {key: _render(item, context) for key, item in node.items}
    return [_render(item, context) for item in node.items]


def _collect(node: Node, out: list[str]) -> None:
    if isinstance(node, _Ref):
        out.append(".".join(node.path))
    elif isinstance(node, _Text):
        out.extend(".".join(p.path) for p in node.parts if isinstance(p, _Ref))
    elif isinstance(node, _Obj):
        for _, item in node.items:
            _collect(item, out)
    elif isinstance(node, _Arr):
        for item in node.items:
            _collect(item, out)
