"""Property tests: any message builds clean requests or fails with InvalidInput, never a crash."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.core.errors import InvalidInput
from tidings.destinations.amplitude import ACTIONS, preview

CONTROL = {
    "use_batch_endpoint",
    "userAgentParsing",
    "includeRawUserAgent",
    "library2",
    "trackRevenuePerProduct",
    "setOnce",
    "setAlways",
    "add",
    "utm_properties",
    "referrer",
    "min_id_length",
    "products",
    "userAgent",
    "userAgentData",
}
_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**13), st.floats(-1e6, 1e6), st.text(max_size=12)
)
_json = st.recursive(
    _scalar,
    lambda c: st.one_of(
        st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3)
    ),
    max_leaves=8,
)
_product = st.fixed_dictionaries(
    {},
    optional={
        "price": _scalar,
        "quantity": _scalar,
        "revenue": _scalar,
        "productId": _scalar,
        "sku": _json,
    },
)
messages = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["track", "identify", "group", "alias", "page"]),
        "messageId": st.text(min_size=1, max_size=8),
    },
    optional={
        "event": _scalar,
        "userId": _scalar,
        "anonymousId": _scalar,
        "previousId": _scalar,
        "timestamp": st.one_of(_scalar, st.just("2024-02-29T12:00:00.000Z")),
        "properties": st.fixed_dictionaries(
            {},
            optional={
                "revenue": _scalar,
                "price": _scalar,
                "quantity": _scalar,
                "products": st.lists(_product, max_size=3),
            },
        ),
        "traits": st.dictionaries(st.text(max_size=5), _json, max_size=3),
        "context": st.fixed_dictionaries(
            {},
            optional={
                "userAgent": st.sampled_from(
                    ["", "curl/8", "Mozilla/5.0 (iPhone; CPU iPhone OS 9_1 like Mac OS X)"]
                ),
                "device": st.dictionaries(
                    st.sampled_from(["id", "type", "model"]), _scalar, max_size=3
                ),
                "page": st.dictionaries(st.sampled_from(["referrer"]), _scalar),
                "campaign": st.dictionaries(st.sampled_from(["source", "name"]), _scalar),
                "library": st.dictionaries(st.sampled_from(["name"]), _scalar),
            },
        ),
    },
)


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(messages, st.sampled_from(sorted(ACTIONS)))
def test_any_message_builds_clean_requests_or_says_why(
    message: dict[str, Any], action: str
) -> None:
    mapping = {"group_type": "org", "group_value": "acme"} if action == "groupIdentifyUser" else {}
    try:
        requests = preview(message, action, mapping=mapping)
    except InvalidInput as exc:
        assert exc.field
        return
    assert requests
    for request in requests:
        orjson.dumps(request)
        if "json" in request:
            for event in request["json"]["events"]:
                assert not set(event) & CONTROL
                assert isinstance(event.get("time", 0), int)
                assert event.get("insert_id") is not None
        else:
            assert "undefined" not in orjson.dumps(request["form"]).decode()
