"""Sample Segment-spec messages shared by the Amplitude tests."""

from __future__ import annotations

import copy
from typing import Any

IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X) AppleWebKit/601.1.46 "
    "(KHTML, like Gecko) Version/9.0 Mobile/13B143 Safari/601.1"
)
MAC_CHROME_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)

_BASE: dict[str, Any] = {
    "anonymousId": "anon-12345",
    "userId": "user-12345",
    "type": "track",
    "event": "Song Played",
    "properties": {"genre": "jazz"},
    "traits": {"plan": "pro"},
    "messageId": "msg-1",
    "timestamp": "2021-08-17T15:21:15.449Z",
    "context": {
        "ip": "8.8.8.8",
        "library": {"name": "analytics.js", "version": "2.11.1"},
        "locale": "en-US",
        "location": {
            "city": "San Francisco",
            "country": "United States",
            "latitude": 40.5,
            "longitude": -76.5,
        },
        "page": {"referrer": "https://ref.example/"},
        "campaign": {"source": "news", "medium": "email", "name": "spring"},
        "userAgent": IPHONE_UA,
    },
}


def message(**changes: Any) -> dict[str, Any]:
    """A fresh copy of the sample track message with top-level keys replaced."""
    out = copy.deepcopy(_BASE)
    out.update(changes)
    return out
