"""User agents parsed to Amplitude's naming conventions."""

from __future__ import annotations

import pytest
from amplitude_messages import IPHONE_UA, MAC_CHROME_UA

from tidings.destinations.amplitude import parse_user_agent

ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.0.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 13_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.0.3 Mobile/15E148 Safari/604.1"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (
            IPHONE_UA,
            {
                "os_name": "iOS",
                "os_version": "9",
                "device_manufacturer": "Apple",
                "device_model": "iPhone",
                "device_type": "mobile",
            },
        ),
        (MAC_CHROME_UA, {"os_name": "Mac OS", "os_version": "120", "device_model": "Mac OS"}),
        (
            ANDROID_PHONE,
            {
                "os_name": "Android",
                "os_version": "112",
                "device_manufacturer": "Samsung",
                "device_model": "SM-S911B",
                "device_type": "mobile",
            },
        ),
        (
            IPAD,
            {
                "os_name": "iOS",
                "os_version": "13",
                "device_manufacturer": "Apple",
                "device_model": "iPad",
                "device_type": "tablet",
            },
        ),
        (WINDOWS, {"os_name": "Windows", "os_version": "120", "device_model": "Windows"}),
        ("", {}),
    ],
)
def test_conventions(agent: str, expected: dict[str, str]) -> None:
    assert parse_user_agent(agent) == expected


def test_client_hints_win() -> None:
    got = parse_user_agent(MAC_CHROME_UA, model="MacBook", platform_version="14.1.0")
    assert (got["device_model"], got["os_version"]) == ("MacBook", "14.1.0")


def test_results_are_fresh_dicts() -> None:
    parse_user_agent(IPHONE_UA)["os_name"] = "changed"
    assert parse_user_agent(IPHONE_UA)["os_name"] == "iOS"
