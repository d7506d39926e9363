"""Sink configuration checks: every refusal names its field, and a checked document is stable."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidInput
from tidings.streams.jsonl import JsonlSink
from tidings.streams.nats import NatsSink
from tidings.streams.sinkconfig import SinkSpec, build_sink, check_sink
from tidings.streams.webhook import WebhookSink

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = st.sampled_from(
    [
        "directory",
        "maxBytes",
        "maxAgeSeconds",
        "url",
        "headers",
        "timeoutSeconds",
        "servers",
        "streamPrefix",
        "subjectPrefix",
        "other",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(["jsonl", "webhook", "nats", "kafka"]),
    sink_settings=st.dictionaries(KEYS, JSON | st.just("nats://h:4222") | st.just("http://h/x")),
    app_ids=JSON,
    enabled=JSON,
)
def test_any_document_is_accepted_or_refused_by_field(
    kind: str, sink_settings: dict[str, Any], app_ids: Any, enabled: Any
) -> None:
    body = {"kind": kind, "settings": sink_settings, "appIds": app_ids, "enabled": enabled}
    try:
        checked = check_sink(body)
    except InvalidInput as exc:
        assert exc.field.split(".")[0].split("[")[0] in {"kind", "settings", "appIds", "enabled"}
        return
    assert check_sink(checked) == checked  # what is stored reads back unchanged


def test_defaults_are_filled_in() -> None:
    checked = check_sink({"kind": "nats", "appIds": ["a", "a"]})
    assert checked == {
        "kind": "nats",
        "appIds": ["a"],
        "settings": {
            "servers": ["nats://127.0.0.1:4222"],
            "streamPrefix": "TIDINGS",
            "subjectPrefix": "tidings.stream",
        },
        "enabled": True,
    }
    jsonl = check_sink({"kind": "jsonl", "appIds": ["a"], "settings": {"directory": "d"}})
    assert jsonl["settings"] == {
        "directory": "d",
        "maxBytes": 64 * 1024 * 1024,
        "maxAgeSeconds": 300.0,
    }


@pytest.mark.parametrize(
    ("kind", "sink_settings", "cls"),
    [
        ("jsonl", {"maxBytes": 4096, "maxAgeSeconds": 2}, JsonlSink),
        ("webhook", {"url": "http://127.0.0.1:9/x", "headers": {"A": "b"}}, WebhookSink),
        ("nats", {"servers": "nats://127.0.0.1:1", "subjectPrefix": "s.t"}, NatsSink),
    ],
)
def test_build_sink_uses_the_settings(
    tmp_path: Any, kind: str, sink_settings: dict[str, Any], cls: type
) -> None:
    if kind == "jsonl":
        sink_settings = {**sink_settings, "directory": str(tmp_path / "out")}
    checked = check_sink({"kind": kind, "appIds": ["a"], "settings": sink_settings})
    letters: list[dict[str, Any]] = []
    sink = build_sink(SinkSpec.from_document("s1", checked), dead_letters=letters.append)
    try:
        assert isinstance(sink, cls)
        if isinstance(sink, JsonlSink):
            assert (sink.max_bytes, sink.max_age_seconds) == (4096, 2)
        elif isinstance(sink, WebhookSink):
            assert sink.headers["A"] == "b" and sink.on_dead_letter is not None
        else:
            assert isinstance(sink, NatsSink)
            assert sink.servers == ["nats://127.0.0.1:1"] and sink.subject("x") == "s.t.x"
    finally:
        sink.close()


@pytest.mark.parametrize(
    ("kind", "sink_settings", "field"),
    [
        ("webhook", {"url": "http://[::1/x"}, "settings.url"),
        ("webhook", {"url": "http://h:99999/x"}, "settings.url"),
        ("nats", {"servers": ["nats://h:port"]}, "settings.servers[0]"),
        ("nats", {"servers": []}, "settings.servers"),
    ],
)
def test_malformed_urls_are_refused_by_field(
    kind: str, sink_settings: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        check_sink({"kind": kind, "appIds": ["a"], "settings": sink_settings})
    assert info.value.field == field
