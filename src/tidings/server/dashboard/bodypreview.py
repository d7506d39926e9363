"""The editor's body preview for server campaigns: the body template rendered against a sample.

The sample is what a template may reference (``event``, ``user``, ``traits``, ``device``,
``campaign``) as JSON the user can edit; the default one fires the draft's trigger with
properties that satisfy its filters. Rendering is the core's (:func:`compile_body`), so the
preview shows exactly what a receiver would get for that event, or the error with its path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tidings.core.campaigns import compile_body
from tidings.core.errors import InvalidCampaign
from tidings.server.dashboard.dryrun import param_value

SAMPLE_TIME = 1_795_860_000_000


@dataclass
class BodyPreview:
    """What the panel shows: the sample, and the rendered body or the error."""

    sample: str
    rendered: str | None = None
    error: str | None = None


def default_sample(draft: dict[str, Any]) -> str:
    """A sample event for the draft's trigger, a user with traits, a device, the campaign."""
    event = (draft.get("triggering") or {}).get("event") or {}
    params = event.get("params") or []
    properties = {
        p["name"]: param_value(p) for p in params if isinstance(p, dict) and p.get("name")
    }
    sample = {
        "event": {
            "id": "evt-sample",
            "name": event.get("name") or "Signed Up",
            "type": event.get("type") or "custom",
            "timestamp": SAMPLE_TIME,
            "sessionId": None,
            "properties": properties or {"plan": "pro"},
        },
        "user": {"userId": "user-1", "anonymousId": "anon-1", "deviceId": "anon-1"},
        "traits": {"email": "ann@example.org", "name": "Ann"},
        "device": {"platform": "iOS", "appVersion": "2.3.0", "country": "US"},
        "campaign": {
            "id": draft.get("id") or "draft",
            "name": draft.get("name") or "Draft",
            "treatmentId": "0",
            "decisionId": "sd_sample",
        },
    }
    return orjson.dumps(sample, option=orjson.OPT_INDENT_2).decode()


def preview(draft: dict[str, Any], sample_text: str) -> BodyPreview:
    """The draft's body rendered against the sample (or why it cannot be)."""
    out = BodyPreview(sample=sample_text or default_sample(draft))
    try:
        sample = orjson.loads(out.sample)
    except orjson.JSONDecodeError as exc:
        out.error = f"sample: not JSON: {exc}"
        return out
    if not isinstance(sample, dict):
        out.error = "sample: must be a JSON object"
        return out
    content = draft.get("content")
    body = content.get("body") if isinstance(content, dict) else None
    try:
        template = compile_body(body, "content.body")
    except InvalidCampaign as exc:
        out.error = str(exc)
        return out
    out.rendered = orjson.dumps(template.render(sample), option=orjson.OPT_INDENT_2).decode()
    return out
