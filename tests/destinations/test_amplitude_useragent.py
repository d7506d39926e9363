"""User agents parsed to Amplitude's naming conventions."""

from __future__ import annotations

import pytest
from amplitude_messages import IPHONE_UA, MAC_CHROME_UA

from tidings.destinations.amplitude import parse_user_agent
from tidings.destinations.amplitude.useragent import USER_AGENT_KEYS

ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.0.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 13_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.0.3 Mobile/15E148 Safari/604.1"
)
SAMSUNG_CHROME = (
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
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


FIELDS = ("os_name", "os_version", "device_manufacturer", "device_model", "device_type")


# Expected values are what @amplitude/ua-parser-js 0.7.25 reports, mapped as Segment's
# "Amplitude (Actions)" maps them; None means the field is absent.
@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        pytest.param(
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Version/4.0 Chrome/74.0.0.0 Safari/537.36",
            ("Android", "4", None, "K", "tablet"),
            id="android-stock-browser-unnamed",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 12; SM-G991U) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36",
            ("Android", "4", "Samsung", "SM-G991U", "mobile"),
            id="android-stock-browser-samsung",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 5.0.1; Lenovo TAB 2 A7-30HC Build/LRX21M; wv) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/66.0.3359.158 "
            "Safari/537.36",
            ("Android", "66", "Lenovo", "TAB 2 A7", "tablet"),
            id="webview-lenovo-tab",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 13; Pixel 7; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36",
            ("Android", "120", None, "wv", "mobile"),
            id="webview-pixel-wv-quirk",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 10; SM-T510) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36",
            ("Android", "120", "Samsung", "SM-T510", "tablet"),
            id="galaxy-tab",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 9; BAH2-W19) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36",
            ("Android", "120", "Huawei", "BAH2-W19", "tablet"),
            id="huawei-mediapad",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 6.0; Nexus 9 Build/MRA58K) AppleWebKit/537.36 (KHTML, "
            "like Gecko) Chrome/56.0.2924.87 Safari/537.36",
            ("Android", "56", "HTC", "Nexus 9", "tablet"),
            id="nexus-9-htc",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.144 Safari/537.36",
            ("Android", "120", "Samsung", "SM-X700", "mobile"),
            id="galaxy-tab-s8-sm-x700",
        ),
        pytest.param(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 14_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Mobile/15E148",
            ("iOS", "605", "Apple", "iPhone", "mobile"),
            id="ios-in-app-webkit",
        ),
        pytest.param(
            "curl/7.64.1",
            (None, None, None, None, None),
            id="curl",
        ),
        pytest.param(
            "okhttp/4.9.0",
            (None, None, None, None, None),
            id="okhttp",
        ),
        pytest.param(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            (None, None, None, None, None),
            id="googlebot",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 10; Redmi Note 8 Pro) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
            ("Android", "120", "Xiaomi", "Redmi Note 8 Pro", "mobile"),
            id="xiaomi-redmi",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 10; ASUS_Z01QD) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36",
            ("Android", "120", "ASUS", "Z01QD", "mobile"),
            id="asus",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 11; CPH2127) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36",
            ("Android", "120", "OPPO", "CPH2127", "mobile"),
            id="oppo",
        ),
        pytest.param(
            "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 "
            "Edge/15.15063",
            ("Windows Phone", "15", "Microsoft", "Lumia 950", "mobile"),
            id="lumia",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 13; Pixel 7 Pro) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36",
            ("Android", "120", None, "Pixel 7 Pro", "mobile"),
            id="pixel-7-pro-no-vendor",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.144 Mobile Safari/537.36 EdgA/120.0.2210.115",
            ("Android", "120", None, "HD1913", "mobile"),
            id="oneplus-hd1913-no-vendor",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 10; ONEPLUS A6003) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
            ("Android", "120", "OnePlus", "A6003", "mobile"),
            id="oneplus-a6003",
        ),
        pytest.param(
            "Mozilla/5.0 (iPod touch; CPU iPhone OS 12_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
            ("iOS", "12", "Apple", "iPod touch", "mobile"),
            id="ipod-touch",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 12; moto g(60)) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Mobile Safari/537.36",
            ("Android", "120", "Motorola", "moto g(60)", "mobile"),
            id="moto-g60",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Silk/120.1.1 like Chrome/120.0.6099.144 Safari/537.36",
            ("Android", "120", "Amazon", "KFTRWI", "tablet"),
            id="kindle-fire",
        ),
        pytest.param(
            "Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
            ("Android", "121", None, "Android", "tablet"),
            id="firefox-android-tablet",
        ),
        pytest.param(
            "Dalvik/2.1.0 (Linux; U; Android 11; SM-A205U Build/RP1A.200720.012)",
            ("Android", None, "Samsung", "SM-A205U", "mobile"),
            id="dalvik-samsung",
        ),
        pytest.param(
            "Dalvik/2.1.0 (Linux; U; Android 9; Redmi 7A MIUI/V10.3.8.0.PCMCNXM)",
            ("Android", None, None, "Android", None),
            id="dalvik-unknown",
        ),
        pytest.param(
            "Mozilla/5.0 (SMART-TV; Linux; Tizen 2.4.0) AppleWebkit/538.1 (KHTML, like Gecko) "
            "SamsungBrowser/1.1 TV Safari/538.1",
            ("Tizen", "1", "Samsung", "Tizen", "smarttv"),
            id="samsung-smart-tv",
        ),
        pytest.param(
            "Mozilla/5.0 (PlayStation 4 3.11) AppleWebKit/537.73 (KHTML, like Gecko)",
            ("PlayStation", "537", "Sony", "PlayStation 4", "console"),
            id="playstation",
        ),
        pytest.param(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041",
            ("Xbox", "18", "Microsoft", "Xbox One", "console"),
            id="xbox",
        ),
        pytest.param(
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36",
            ("Chromium OS", "120", None, "Chromium OS", None),
            id="chromebook",
        ),
        pytest.param(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Mobile/15E148 "
            "[FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/16.6]",
            ("iOS", None, "Apple", "iPhone14,5", "mobile"),
            id="facebook-ios",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.6099.144 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/444.0.0.0.0;]",
            ("Android", "444", "Samsung", "SM-S918B", "mobile"),
            id="facebook-android",
        ),
        pytest.param(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
            ("Mac OS", "121", None, "Mac OS", None),
            id="mac-firefox",
        ),
        pytest.param(
            "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
            ("Windows", "11", None, "Windows", None),
            id="ie11",
        ),
    ],
)
def test_agrees_with_ua_parser_js(agent: str, expected: tuple[str | None, ...]) -> None:
    want = {k: v for k, v in zip(FIELDS, expected, strict=True) if v is not None}
    got = parse_user_agent(agent)
    assert got == want
    assert set(got) <= USER_AGENT_KEYS


def test_long_agents_are_cut_to_255_characters() -> None:
    # ua-parser-js only reads the first 255 characters, so the Edge token is not seen.
    long_agent = f"{SAMSUNG_CHROME} {'x' * 200} EdgA/121.0"
    assert parse_user_agent(long_agent)["os_version"] == "120"
    assert parse_user_agent(f"  {SAMSUNG_CHROME} EdgA/121.0")["os_version"] == "121"
