"""Requests as data: wire bodies and the preview form."""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson

from tidings.destinations import Request


def test_json_request() -> None:
    request = Request("POST", "https://x/2/httpapi", json={"api_key": "k", "events": [{"a": "é"}]})
    assert orjson.loads(request.body()) == {"api_key": "k", "events": [{"a": "é"}]}
    assert request.content_type() == "application/json"
    assert request.to_preview() == {
        "method": "POST",
        "url": "https://x/2/httpapi",
        "json": request.json,
    }


def test_form_request() -> None:
    request = Request(
        "POST", "https://x/identify", form={"api_key": "k", "identification": '{"a":"b c&d"}'}
    )
    assert parse_qs(request.body().decode()) == {
        "api_key": ["k"],
        "identification": ['{"a":"b c&d"}'],
    }
    assert request.content_type() == "application/x-www-form-urlencoded"
    assert request.to_preview()["form"] == request.form
