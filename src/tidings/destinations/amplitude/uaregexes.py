"""User-agent rules of ua-parser-js 0.7, as in Amplitude's fork @amplitude/ua-parser-js 0.7.25.

Amplitude derives its device fields from what ua-parser-js reports (see ``useragent``), so the
library's browser, OS and device rules are transcribed here and applied the way it applies them:

- the rules of a table are tried in order and the first pattern that matches anywhere in the agent
  wins (patterns are case-insensitive, and ``\\w``, ``\\d`` and ``\\b`` are ASCII-only as in
  JavaScript);
- each property of the winning rule takes the capture group at its own position, counting from 1,
  and a fixed value uses up a position too (so ``[("vendor", "Dragon Touch"), "model"]`` reads the
  model from group 2); an empty capture counts as no value;
- an agent longer than 255 characters is stripped of surrounding white space and cut to 255
  (UTF-16) characters first.

Only what Amplitude's fields read is kept: the browser's name and version, the OS name (its version
is left as captured), and the device's vendor, model and type.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Final, NamedTuple

from tidings.destinations.amplitude.uadevices import DEVICE_RULES
from tidings.destinations.amplitude.uarules import (
    MAX_LENGTH,
    OUTER_SPACE,
    Prop,
    Rules,
    affixed,
    old_safari_version,
    spaced,
)

_NOT_VERSION: Final = re.compile(r"[^0-9.]")
_FLAGS: Final = re.IGNORECASE | re.ASCII


_BROWSER_RULES: Final[Rules] = (
    # Chrome for Android/iOS
    ([r"\b(?:crmo|crios)/([\w\.]+)"], ["version", ("name", "Chrome")]),
    # Microsoft Edge
    ([r"edg(?:e|ios|a)?/([\w\.]+)"], ["version", ("name", "Edge")]),
    (
        [
            # Opera Mini
            r"(opera mini)/([-\w\.]+)",
            # Opera Mobi/Tablet
            r"(opera [mobiletab]{3,6})\b.+version/([-\w\.]+)",
            # Opera
            r"(opera)(?:.+version/|[/ ]+)([\w\.]+)",
        ],
        ["name", "version"],
    ),
    # Opera mini on iphone >= 8.0
    ([r"opios[/ ]+([\w\.]+)"], ["version", ("name", "Opera Mini")]),
    # Opera Webkit
    ([r"\bopr/([\w\.]+)"], ["version", ("name", "Opera")]),
    (
        [
            # Kindle
            r"(kindle)/([\w\.]+)",
            # Lunascape/Maxthon/Netfront/Jasmine/Blazer
            r"(lunascape|maxthon|netfront|jasmine|blazer)[/ ]?([\w\.]*)",
            # Avant/IEMobile/SlimBrowser
            r"(avant |iemobile|slim)(?:browser)?[/ ]?([\w\.]*)",
            # Baidu Browser
            r"(ba?idubrowser)[/ ]?([\w\.]+)",
            # Internet Explorer
            r"(?:ms|\()(ie) ([\w\.]+)",
            (
                r"(flock|rockmelt|midori|epiphany|silk|skyfire|ovibrowser|bolt|iron|vivaldi|"
                r"iridium|phantomjs|bowser|quark|qupzilla|falkon|rekonq|puffin|brave|whale|"
                r"qqbrowserlite|qq)/([-\w\.]+)"
            ),
            # Weibo
            r"(weibo)__([\d\.]+)",
        ],
        ["name", "version"],
    ),
    # UCBrowser
    ([r"(?:\buc? ?browser|(?:juc.+)ucweb)[/ ]?([\w\.]+)"], ["version", ("name", "UCBrowser")]),
    # WeChat Desktop for Windows Built-in Browser
    ([r"\bqbcore/([\w\.]+)"], ["version", ("name", "WeChat(Win) Desktop")]),
    # WeChat
    ([r"micromessenger/([\w\.]+)"], ["version", ("name", "WeChat")]),
    # Konqueror
    ([r"konqueror/([\w\.]+)"], ["version", ("name", "Konqueror")]),
    # IE11
    ([r"trident.+rv[: ]([\w\.]{1,9})\b.+like gecko"], ["version", ("name", "IE")]),
    # Yandex
    ([r"yabrowser/([\w\.]+)"], ["version", ("name", "Yandex")]),
    # Avast/AVG Secure Browser
    ([r"(avast|avg)/([\w\.]+)"], [("name", affixed("", " Secure Browser")), "version"]),
    # Firefox Focus
    ([r"\bfocus/([\w\.]+)"], ["version", ("name", "Firefox Focus")]),
    # Opera Touch
    ([r"\bopt/([\w\.]+)"], ["version", ("name", "Opera Touch")]),
    # Coc Coc Browser
    ([r"coc_coc\w+/([\w\.]+)"], ["version", ("name", "Coc Coc")]),
    # Dolphin
    ([r"dolfin/([\w\.]+)"], ["version", ("name", "Dolphin")]),
    # Opera Coast
    ([r"coast/([\w\.]+)"], ["version", ("name", "Opera Coast")]),
    # MIUI Browser
    ([r"miuibrowser/([\w\.]+)"], ["version", ("name", "MIUI Browser")]),
    # Firefox for iOS
    ([r"fxios/([-\w\.]+)"], ["version", ("name", "Firefox")]),
    # 360
    ([r"\bqihu|(qi?ho?o?|360)browser"], [("name", "360 Browser")]),
    (
        [r"(oculus|samsung|sailfish)browser/([\w\.]+)"],
        [("name", affixed("", " Browser")), "version"],
    ),
    # Comodo Dragon
    ([r"(comodo_dragon)/([\w\.]+)"], [("name", spaced), "version"]),
    (
        [
            # Electron-based App
            r"(electron)/([\w\.]+) safari",
            # Tesla
            r"(tesla)(?: qtcarbrowser|/(20\d\d\.[-\w\.]+))",
            # QQBrowser/Baidu App/2345 Browser
            r"m?(qqbrowser|baiduboxapp|2345Explorer)[/ ]?([\w\.]+)",
        ],
        ["name", "version"],
    ),
    (
        [
            # SouGouBrowser
            r"(metasr)[/ ]?([\w\.]+)",
            # LieBao Browser
            r"(lbbrowser)",
        ],
        ["name"],
    ),
    # Facebook App for iOS & Android
    (
        [r"((?:fban/fbios|fb_iab/fb4a)(?!.+fbav)|;fbav/([\w\.]+);)"],
        [("name", "Facebook"), "version"],
    ),
    (
        [
            # Line App for iOS
            r"safari (line)/([\w\.]+)",
            # Line App for Android
            r"\b(line)/([\w\.]+)/iab",
            # Chromium/Instagram
            r"(chromium|instagram)[/ ]([-\w\.]+)",
        ],
        ["name", "version"],
    ),
    # Google Search Appliance on iOS
    ([r"\bgsa/([\w\.]+) .*safari/"], ["version", ("name", "GSA")]),
    # Chrome Headless
    ([r"headlesschrome(?:/([\w\.]+)| )"], ["version", ("name", "Chrome Headless")]),
    # Chrome WebView
    ([r" wv\).+(chrome)/([\w\.]+)"], [("name", "Chrome WebView"), "version"]),
    # Android Browser
    (
        [r"droid.+ version/([\w\.]+)\b.+(?:mobile safari|safari)"],
        ["version", ("name", "Android Browser")],
    ),
    # Chrome/OmniWeb/Arora/Tizen/Nokia
    ([r"(chrome|omniweb|arora|[tizenoka]{5} ?browser)/v?([\w\.]+)"], ["name", "version"]),
    # Mobile Safari
    ([r"version/([\w\.]+) .*mobile/\w+ (safari)"], ["version", ("name", "Mobile Safari")]),
    # Safari & Safari Mobile
    ([r"version/([\w\.]+) .*(mobile ?safari|safari)"], ["version", "name"]),
    # Safari < 3.0
    ([r"webkit.+?(mobile ?safari|safari)(/[\w\.]+)"], ["name", ("version", old_safari_version)]),
    ([r"(webkit|khtml)/([\w\.]+)"], ["name", "version"]),
    # Netscape
    ([r"(navigator|netscape\d?)/([-\w\.]+)"], [("name", "Netscape"), "version"]),
    # Firefox Reality
    ([r"mobile vr; rv:([\w\.]+)\).+firefox"], ["version", ("name", "Firefox Reality")]),
    (
        [
            # Flow
            r"ekiohf.+(flow)/([\w\.]+)",
            # Swiftfox
            r"(swiftfox)",
            (
                r"(icedragon|iceweasel|camino|chimera|fennec|maemo browser|minimo|conkeror|klar)"
                r"[/ ]?([\w\.\+]+)"
            ),
            (
                r"(seamonkey|k-meleon|icecat|iceape|firebird|phoenix|palemoon|basilisk|waterfox)"
                r"/([-\w\.]+)$"
            ),
            # Other Firefox-based
            r"(firefox)/([\w\.]+)",
            # Mozilla
            r"(mozilla)/([\w\.]+) .+rv\:.+gecko/\d+",
            (
                r"(polaris|lynx|dillo|icab|doris|amaya|w3m|netsurf|sleipnir|obigo|mosaic|"
                r"(?:go|ice|up)[\. ]?browser)[-/ ]?v?([\w\.]+)"
            ),
            # Links
            r"(links) \(([\w\.]+)",
        ],
        ["name", "version"],
    ),
)

_OS_RULES: Final[Rules] = (
    # Windows (iTunes)
    ([r"microsoft (windows) (vista|xp)"], ["name", "version"]),
    (
        [
            # Windows RT
            r"(windows) nt 6\.2; (arm)",
            # Windows Phone
            r"(windows (?:phone(?: os)?|mobile))[/ ]?([\d\.\w ]*)",
            r"(windows)[/ ]?([ntce\d\. ]+\w)(?!.+xbox)",
        ],
        ["name", "version"],
    ),
    ([r"(win(?=3|9|n)|win 9x )([nt\d\.]+)"], [("name", "Windows"), "version"]),
    (
        [
            # iOS
            r"ip[honead]{2,4}\b(?:.*os ([\w]+) like mac|; opera)",
            r"cfnetwork/.+darwin",
        ],
        ["version", ("name", "iOS")],
    ),
    (
        [
            r"(mac os x) ?([\w\. ]*)",
            # Mac OS
            r"(macintosh|mac_powerpc\b)(?!.+haiku)",
        ],
        [("name", "Mac OS"), "version"],
    ),
    # Android-x86
    ([r"droid ([\w\.]+)\b.+(android[- ]x86)"], ["version", "name"]),
    (
        [
            r"(android|webos|qnx|bada|rim tablet os|maemo|meego|sailfish)[-/ ]?([\w\.]*)",
            # Blackberry
            r"(blackberry)\w*/([\w\.]*)",
            # Tizen/KaiOS
            r"(tizen|kaios)[/ ]([\w\.]+)",
            # Series 40
            r"\((series40);",
        ],
        ["name", "version"],
    ),
    # BlackBerry 10
    ([r"\(bb(10);"], ["version", ("name", "BlackBerry")]),
    # Symbian
    (
        [r"(?:symbian ?os|symbos|s60(?=;)|series60)[-/ ]?([\w\.]*)"],
        ["version", ("name", "Symbian")],
    ),
    # Firefox OS
    (
        [r"mozilla/[\d\.]+ \((?:mobile|tablet|tv|mobile; [\w ]+); rv:.+ gecko/([\w\.]+)"],
        ["version", ("name", "Firefox OS")],
    ),
    (
        [
            r"web0s;.+rt(tv)",
            # WebOS
            r"\b(?:hp)?wos(?:browser)?/([\w\.]+)",
        ],
        ["version", ("name", "webOS")],
    ),
    # Google Chromecast
    ([r"crkey/([\d\.]+)"], ["version", ("name", "Chromecast")]),
    # Chromium OS
    ([r"(cros) [\w]+ ([\w\.]+\w)"], [("name", "Chromium OS"), "version"]),
    (
        [
            # Nintendo/Playstation
            r"(nintendo|playstation) ([wids345portablevuch]+)",
            # Microsoft Xbox (360, One, X, S, Series X, Series S)
            r"(xbox); +xbox ([^\);]+)",
            # Joli/Palm
            r"\b(joli|palm)\b ?(?:os)?/?([\w\.]*)",
            # Mint
            r"(mint)[/\(\) ]?(\w*)",
            # Mageia/VectorLinux
            r"(mageia|vectorlinux)[; ]",
            (
                r"([kxln]?ubuntu|debian|suse|opensuse|gentoo|arch(?= linux)|slackware|fedora|"
                r"mandriva|centos|pclinuxos|red ?hat|zenwalk|linpus|raspbian|plan 9|minix|risc os|"
                r"contiki|deepin|manjaro|elementary os|sabayon|linspire)"
                r"(?: gnu/linux)?(?: enterprise)?(?:[- ]linux)?(?:-gnu)?[-/ ]?(?!chrom|package)"
                r"([-\w\.]*)"
            ),
            # Hurd/Linux
            r"(hurd|linux) ?([\w\.]*)",
            # GNU
            r"(gnu) ?([\w\.]*)",
            # FreeBSD/NetBSD/OpenBSD/PC-BSD/GhostBSD/DragonFly
            r"\b([-frentopcghs]{0,5}bsd|dragonfly)[/ ]?(?!amd|[ix346]{1,2}86)([\w\.]*)",
            # Haiku
            r"(haiku) (\w+)",
        ],
        ["name", "version"],
    ),
    # Solaris
    ([r"(sunos) ?([\w\.\d]*)"], [("name", "Solaris"), "version"]),
    (
        [
            # Solaris
            r"((?:open)?solaris)[-/ ]?([\w\.]*)",
            # AIX
            r"(aix) ((\d)(?=\.|\)| )[\w\.])*",
            # BeOS/OS2/AmigaOS/MorphOS/OpenVMS/Fuchsia/HP-UX
            r"\b(beos|os/2|amigaos|morphos|openvms|fuchsia|hp-ux)",
            # UNIX
            r"(unix) ?([\w\.]*)",
        ],
        ["name", "version"],
    ),
)


class ParsedAgent(NamedTuple):
    """What ua-parser-js reports for one agent (``None`` where it reports nothing)."""

    browser_name: str | None
    browser_major: str | None
    os_name: str | None
    device_vendor: str | None
    device_model: str | None
    device_type: str | None


Compiled = tuple[tuple[tuple[re.Pattern[str], ...], Sequence[Prop]], ...]


@cache
def _compiled(table: str) -> Compiled:
    rules = {"browser": _BROWSER_RULES, "os": _OS_RULES, "device": DEVICE_RULES}[table]
    return tuple(
        (tuple(re.compile(p, _FLAGS) for p in patterns), props) for patterns, props in rules
    )


def _match(table: str, agent: str) -> dict[str, str | None]:
    for patterns, props in _compiled(table):
        for pattern in patterns:
            found = pattern.search(agent)
            if found is None:
                continue
            groups = found.groups()
            result: dict[str, str | None] = {}
            for position, prop in enumerate(props):
                captured = groups[position] if position < len(groups) else None
                if isinstance(prop, str):
                    result[prop] = captured or None
                else:
                    name, how = prop
                    result[name] = how if isinstance(how, str) else how(captured)
            return result
    return {}


def _major(version: str | None) -> str | None:
    return None if version is None else _NOT_VERSION.sub("", version).split(".")[0]


def _limited(agent: str) -> str:
    units = agent.encode("utf-16-le", "surrogatepass")
    if len(units) <= 2 * MAX_LENGTH:
        return agent
    stripped = OUTER_SPACE.sub("", agent).encode("utf-16-le", "surrogatepass")
    return stripped[: 2 * MAX_LENGTH].decode("utf-16-le", "surrogatepass")


def parse(agent: str) -> ParsedAgent:
    """Browser, OS and device of ``agent`` by ua-parser-js 0.7's rules."""
    agent = _limited(agent)
    browser = _match("browser", agent)
    device = _match("device", agent)
    return ParsedAgent(
        browser_name=browser.get("name"),
        browser_major=_major(browser.get("version")),
        os_name=_match("os", agent).get("name"),
        device_vendor=device.get("vendor"),
        device_model=device.get("model"),
        device_type=device.get("type"),
    )
