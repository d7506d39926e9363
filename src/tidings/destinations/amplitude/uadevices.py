"""The device rules of ua-parser-js 0.7.25 (vendor, model and type), as ``uaregexes`` applies
them: the first rule with a matching pattern wins, so their order matters."""

from __future__ import annotations

from typing import Final

from tidings.destinations.amplitude.uarules import Rules, affixed, dots_spaced, spaced, trimmed

DEVICE_RULES: Final[Rules] = (
    (
        [r"\b(sch-i[89]0\d|shw-m380s|sm-[pt]\w{2,4}|gt-[pn]\d{2,4}|sgh-t8[56]9|nexus 10)"],
        ["model", ("vendor", "Samsung"), ("type", "tablet")],
    ),
    (
        [
            r"\b((?:s[cgp]h|gt|sm)-\w+|galaxy nexus)",
            r"samsung[- ]([-\w]+)",
            r"sec-(sgh\w+)",
        ],
        ["model", ("vendor", "Samsung"), ("type", "mobile")],
    ),
    # iPod/iPhone model
    ([r"((ipod|iphone)\d+,\d+)"], ["model", ("vendor", "Apple"), ("type", "mobile")]),
    # iPad model
    ([r"(ipad\d+,\d+)"], ["model", ("vendor", "Apple"), ("type", "tablet")]),
    # iPod/iPhone
    ([r"\((ip(?:hone|od)[\w ]*);"], ["model", ("vendor", "Apple"), ("type", "mobile")]),
    (
        [
            # iPad
            r"\((ipad);[-\w\),; ]+apple",
            r"applecoremedia/[\w\.]+ \((ipad)",
            r"\b(ipad)\d\d?,\d\d?[;\]].+ios",
        ],
        ["model", ("vendor", "Apple"), ("type", "tablet")],
    ),
    (
        [r"\b((?:ag[rs][23]?|bah2?|sht?|btv)-a?[lw]\d{2})\b(?!.+d/s)"],
        ["model", ("vendor", "Huawei"), ("type", "tablet")],
    ),
    (
        [
            r"(?:huawei|honor)([-\w ]+)[;\)]",
            r"\b(nexus 6p|\w{2,4}-[atu]?[ln][01259x][012359][an]?)\b(?!.+d/s)",
        ],
        ["model", ("vendor", "Huawei"), ("type", "mobile")],
    ),
    (
        [
            # Xiaomi POCO
            r"\b(poco[\w ]+)(?: bui|\))",
            # Xiaomi Hongmi 'numeric' models
            r"\b; (\w+) build/hm\1",
            # Xiaomi Hongmi
            r"\b(hm[-_ ]?note?[_ ]?(?:\d\w)?) bui",
            # Xiaomi Redmi
            r"\b(redmi[\-_ ]?(?:note|k)?[\w_ ]+)(?: bui|\))",
            # Xiaomi Mi
            (
                r"\b(mi[-_ ]?(?:a\d|one|one[_ ]plus|note lte|max)?[_ ]?(?:\d?\w?)[_ ]?"
                r"(?:plus|se|lite)?)(?: bui|\))"
            ),
        ],
        [("model", spaced), ("vendor", "Xiaomi"), ("type", "mobile")],
    ),
    # Mi Pad tablets
    (
        [r"\b(mi[-_ ]?(?:pad)(?:[\w_ ]+))(?: bui|\))"],
        [("model", spaced), ("vendor", "Xiaomi"), ("type", "tablet")],
    ),
    (
        [
            r"; (\w+) bui.+ oppo",
            r"\b(cph[12]\d{3}|p(?:af|c[al]|d\w|e[ar])[mt]\d0|x9007)\b",
        ],
        ["model", ("vendor", "OPPO"), ("type", "mobile")],
    ),
    (
        [
            r"vivo (\w+)(?: bui|\))",
            r"\b(v[12]\d{3}\w?[at])(?: bui|;)",
        ],
        ["model", ("vendor", "Vivo"), ("type", "mobile")],
    ),
    ([r"\b(rmx[12]\d{3})(?: bui|;|\))"], ["model", ("vendor", "Realme"), ("type", "mobile")]),
    (
        [
            r"\b(milestone|droid(?:[2-4x]| (?:bionic|x2|pro|razr))?:?( 4g)?)\b[\w ]+build/",
            r"\bmot(?:orola)?[- ](\w*)",
            r"((?:moto[\w\(\) ]+|xt\d{3,4}|nexus 6)(?= bui|\)))",
        ],
        ["model", ("vendor", "Motorola"), ("type", "mobile")],
    ),
    ([r"\b(mz60\d|xoom[2 ]{0,2}) build/"], ["model", ("vendor", "Motorola"), ("type", "tablet")]),
    (
        [r"((?=lg)?[vl]k\-?\d{3}) bui| 3\.[-\w; ]{10}lg?-([06cv9]{3,4})"],
        ["model", ("vendor", "LG"), ("type", "tablet")],
    ),
    (
        [
            r"(lm(?:-?f100[nv]?|-[\w\.]+)(?= bui|\))|nexus [45])",
            r"\blg[-e;/ ]+((?!browser|netcast|android tv)\w+)",
            r"\blg-?([\d\w]+) bui",
        ],
        ["model", ("vendor", "LG"), ("type", "mobile")],
    ),
    (
        [
            r"(ideatab[-\w ]+)",
            r"lenovo ?(s[56]000[-\w]+|tab(?:[\w ]+)|yt[-\d\w]{6}|tb[-\d\w]{6})",
        ],
        ["model", ("vendor", "Lenovo"), ("type", "tablet")],
    ),
    (
        [
            r"(?:maemo|nokia).*(n900|lumia \d+)",
            r"nokia[-_ ]?([-\w\.]*)",
        ],
        [("model", spaced), ("vendor", "Nokia"), ("type", "mobile")],
    ),
    # Google Pixel C
    ([r"(pixel c)\b"], ["model", ("vendor", "Google"), ("type", "tablet")]),
    # Google Pixel
    (
        [r"droid.+; (pixel[\daxl ]{0,6})(?: bui|\))"],
        ["model", ("vendor", "Google"), ("type", "mobile")],
    ),
    (
        [
            (
                r"droid.+ ([c-g]\d{4}|so[-l]\w+|xq-a\w[4-7][12])"
                r"(?= bui|\).+chrome/(?![1-6]{0,1}\d\.))"
            ),
        ],
        ["model", ("vendor", "Sony"), ("type", "mobile")],
    ),
    (
        [
            r"sony tablet [ps]",
            r"\b(?:sony)?sgp\w+(?: bui|\))",
        ],
        [("model", "Xperia Tablet"), ("vendor", "Sony"), ("type", "tablet")],
    ),
    (
        [
            r" (kb2005|in20[12]5|be20[12][59])\b",
            r"(?:one)?(?:plus)? (a\d0\d\d)(?: b|\))",
        ],
        ["model", ("vendor", "OnePlus"), ("type", "mobile")],
    ),
    (
        [
            r"(alexa)webm",
            # Kindle Fire without Silk
            r"(kf[a-z]{2}wi)( bui|\))",
            # Kindle Fire HD
            r"(kf[a-z]+)( bui|\)).+silk/",
        ],
        ["model", ("vendor", "Amazon"), ("type", "tablet")],
    ),
    # Fire Phone
    (
        [r"((?:sd|kf)[0349hijorstuw]+)( bui|\)).+silk/"],
        [("model", affixed("Fire Phone ", "")), ("vendor", "Amazon"), ("type", "mobile")],
    ),
    # BlackBerry PlayBook
    ([r"(playbook);[-\w\),; ]+(rim)"], ["model", "vendor", ("type", "tablet")]),
    (
        [
            r"\b((?:bb[a-f]|st[hv])100-\d)",
            # BlackBerry 10
            r"\(bb10; (\w+)",
        ],
        ["model", ("vendor", "BlackBerry"), ("type", "mobile")],
    ),
    (
        [r"(?:\b|asus_)(transfo[prime ]{4,10} \w+|eeepc|slider \w+|nexus 7|padfone|p00[cj])"],
        ["model", ("vendor", "ASUS"), ("type", "tablet")],
    ),
    (
        [r" (z[bes]6[027][012][km][ls]|zenfone \d\w?)\b"],
        ["model", ("vendor", "ASUS"), ("type", "mobile")],
    ),
    # HTC Nexus 9
    ([r"(nexus 9)"], ["model", ("vendor", "HTC"), ("type", "tablet")]),
    (
        [
            # HTC
            r"(htc)[-;_ ]{1,2}([\w ]+(?=\)| bui)|\w+)",
            r"(zte)[- ]([\w ]+?)(?: bui|/|\))",
            # Alcatel/GeeksPhone/Nexian/Panasonic/Sony
            r"(alcatel|geeksphone|nexian|panasonic|sony)[-_ ]?([-\w]*)",
        ],
        ["vendor", ("model", spaced), ("type", "mobile")],
    ),
    ([r"droid.+; ([ab][1-7]-?[0178a]\d\d?)"], ["model", ("vendor", "Acer"), ("type", "tablet")]),
    (
        [
            r"droid.+; (m[1-5] note) bui",
            r"\bmz-([-\w]{2,})",
        ],
        ["model", ("vendor", "Meizu"), ("type", "mobile")],
    ),
    ([r"\b(sh-?[altvz]?\d\d[a-ekm]?)"], ["model", ("vendor", "Sharp"), ("type", "mobile")]),
    (
        [
            (
                r"(blackberry|benq|palm(?=\-)|sonyericsson|acer|asus|dell|meizu|motorola|polytron)"
                r"[-_ ]?([-\w]*)"
            ),
            # HP iPAQ
            r"(hp) ([\w ]+\w)",
            # Asus
            r"(asus)-?(\w+)",
            # Microsoft Lumia
            r"(microsoft); (lumia[\w ]+)",
            # Lenovo
            r"(lenovo)[-_ ]?([-\w]+)",
            # Jolla
            r"(jolla)",
            # OPPO
            r"(oppo) ?([\w ]+) bui",
        ],
        ["vendor", "model", ("type", "mobile")],
    ),
    (
        [
            # Archos
            r"(archos) (gamepad2?)",
            # HP TouchPad
            r"(hp).+(touchpad(?!.+tablet)|tablet)",
            # Kindle
            r"(kindle)/([\w\.]+)",
            # Nook
            r"(nook)[\w ]+build/(\w+)",
            # Dell Streak
            r"(dell) (strea[kpr\d ]*[\dko])",
            # Le Pan Tablets
            r"(le[- ]+pan)[- ]+(\w{1,9}) bui",
            # Trinity Tablets
            r"(trinity)[- ]*(t\d{3}) bui",
            # Gigaset Tablets
            r"(gigaset)[- ]+(q\w{1,9}) bui",
            # Vodafone
            r"(vodafone) ([\w ]+)(?:\)| bui)",
        ],
        ["vendor", "model", ("type", "tablet")],
    ),
    # Surface Duo
    ([r"(surface duo)"], ["model", ("vendor", "Microsoft"), ("type", "tablet")]),
    # Fairphone
    ([r"droid [\d\.]+; (fp\du?)(?: b|\))"], ["model", ("vendor", "Fairphone"), ("type", "mobile")]),
    # AT&T
    ([r"(u304aa)"], ["model", ("vendor", "AT&T"), ("type", "mobile")]),
    # Siemens
    ([r"\bsie-(\w*)"], ["model", ("vendor", "Siemens"), ("type", "mobile")]),
    # RCA Tablets
    ([r"\b(rct\w+) b"], ["model", ("vendor", "RCA"), ("type", "tablet")]),
    # Dell Venue Tablets
    ([r"\b(venue[\d ]{2,7}) b"], ["model", ("vendor", "Dell"), ("type", "tablet")]),
    # Verizon Tablet
    ([r"\b(q(?:mv|ta)\w+) b"], ["model", ("vendor", "Verizon"), ("type", "tablet")]),
    # Barnes & Noble Tablet
    (
        [r"\b(?:barnes[& ]+noble |bn[rt])([\w\+ ]*) b"],
        ["model", ("vendor", "Barnes & Noble"), ("type", "tablet")],
    ),
    ([r"\b(tm\d{3}\w+) b"], ["model", ("vendor", "NuVision"), ("type", "tablet")]),
    # ZTE K Series Tablet
    ([r"\b(k88) b"], ["model", ("vendor", "ZTE"), ("type", "tablet")]),
    # ZTE Nubia
    ([r"\b(nx\d{3}j) b"], ["model", ("vendor", "ZTE"), ("type", "mobile")]),
    # Swiss GEN Mobile
    ([r"\b(gen\d{3}) b.+49h"], ["model", ("vendor", "Swiss"), ("type", "mobile")]),
    # Swiss ZUR Tablet
    ([r"\b(zur\d{3}) b"], ["model", ("vendor", "Swiss"), ("type", "tablet")]),
    # Zeki Tablets
    ([r"\b((zeki)?tb.*\b) b"], ["model", ("vendor", "Zeki"), ("type", "tablet")]),
    (
        [
            r"\b([yr]\d{2}) b",
            # Dragon Touch Tablet
            r"\b(dragon[- ]+touch |dt)(\w{5}) b",
        ],
        [("vendor", "Dragon Touch"), "model", ("type", "tablet")],
    ),
    # Insignia Tablets
    ([r"\b(ns-?\w{0,9}) b"], ["model", ("vendor", "Insignia"), ("type", "tablet")]),
    # NextBook Tablets
    ([r"\b((nxa|next)-?\w{0,9}) b"], ["model", ("vendor", "NextBook"), ("type", "tablet")]),
    # Voice Xtreme Phones
    (
        [r"\b(xtreme\_)?(v(1[045]|2[015]|[3469]0|7[05])) b"],
        [("vendor", "Voice"), "model", ("type", "mobile")],
    ),
    # LvTel Phones
    ([r"\b(lvtel\-)?(v1[12]) b"], [("vendor", "LvTel"), "model", ("type", "mobile")]),
    # Essential PH-1
    ([r"\b(ph-1) "], ["model", ("vendor", "Essential"), ("type", "mobile")]),
    # Envizen Tablets
    ([r"\b(v(100md|700na|7011|917g).*\b) b"], ["model", ("vendor", "Envizen"), ("type", "tablet")]),
    # MachSpeed Tablets
    ([r"\b(trio[-\w\. ]+) b"], ["model", ("vendor", "MachSpeed"), ("type", "tablet")]),
    # Rotor Tablets
    ([r"\btu_(1491) b"], ["model", ("vendor", "Rotor"), ("type", "tablet")]),
    # Nvidia Shield Tablets
    ([r"(shield[\w ]+) b"], ["model", ("vendor", "Nvidia"), ("type", "tablet")]),
    # Sprint Phones
    ([r"(sprint) (\w+)"], ["vendor", "model", ("type", "mobile")]),
    # Microsoft Kin
    (
        [r"(kin\.[onetw]{3})"],
        [("model", dots_spaced), ("vendor", "Microsoft"), ("type", "mobile")],
    ),
    # Zebra
    (
        [r"droid.+; (cc6666?|et5[16]|mc[239][23]x?|vc8[03]x?)\)"],
        ["model", ("vendor", "Zebra"), ("type", "tablet")],
    ),
    ([r"droid.+; (ec30|ps20|tc[2-8]\d[kx])\)"], ["model", ("vendor", "Zebra"), ("type", "mobile")]),
    (
        [
            # Ouya
            r"(ouya)",
            # Nintendo
            r"(nintendo) ([wids3utch]+)",
        ],
        ["vendor", "model", ("type", "console")],
    ),
    # Nvidia
    ([r"droid.+; (shield) bui"], ["model", ("vendor", "Nvidia"), ("type", "console")]),
    # Playstation
    ([r"(playstation [345portablevi]+)"], ["model", ("vendor", "Sony"), ("type", "console")]),
    # Microsoft Xbox
    (
        [r"\b(xbox(?: one)?(?!; xbox))[\); ]"],
        ["model", ("vendor", "Microsoft"), ("type", "console")],
    ),
    # Samsung
    ([r"smart-tv.+(samsung)"], ["vendor", ("type", "smarttv")]),
    (
        [r"hbbtv.+maple;(\d+)"],
        [("model", affixed("SmartTV", "")), ("vendor", "Samsung"), ("type", "smarttv")],
    ),
    # LG SmartTV
    (
        [r"(nux; netcast.+smarttv|lg (netcast\.tv-201\d|android tv))"],
        [("vendor", "LG"), ("type", "smarttv")],
    ),
    # Apple TV
    ([r"(apple) ?tv"], ["vendor", ("model", "Apple TV"), ("type", "smarttv")]),
    # Google Chromecast
    ([r"crkey"], [("model", "Chromecast"), ("vendor", "Google"), ("type", "smarttv")]),
    # Fire TV
    ([r"droid.+aft(\w)( bui|\))"], ["model", ("vendor", "Amazon"), ("type", "smarttv")]),
    # Sharp
    ([r"\(dtv[\);].+(aquos)"], ["model", ("vendor", "Sharp"), ("type", "smarttv")]),
    (
        [
            # Roku
            r"\b(roku)[\dx]*[\)/]((?:dvp-)?[\d\.]*)",
            # HbbTV devices
            r"hbbtv/\d+\.\d+\.\d+ +\([\w ]*; *(\w[^;]*);([^;]*)",
        ],
        [("vendor", trimmed), ("model", trimmed), ("type", "smarttv")],
    ),
    # SmartTV from Unidentified Vendors
    ([r"\b(android tv|smart[- ]?tv|opera tv|tv; rv:)\b"], [("type", "smarttv")]),
    # Pebble
    ([r"((pebble))app"], ["vendor", "model", ("type", "wearable")]),
    # Google Glass
    ([r"droid.+; (glass) \d"], ["model", ("vendor", "Google"), ("type", "wearable")]),
    ([r"droid.+; (wt63?0{2,3})\)"], ["model", ("vendor", "Zebra"), ("type", "wearable")]),
    # Tesla
    ([r"(tesla)(?: qtcarbrowser|/[-\w\.]+)"], ["vendor", ("type", "embedded")]),
    # Android Phones from Unidentified Vendors
    ([r"droid .+?; ([^;]+?)(?: bui|\) applew).+? mobile safari"], ["model", ("type", "mobile")]),
    # Android Tablets from Unidentified Vendors
    (
        [r"droid .+?; ([^;]+?)(?: bui|\) applew).+?(?! mobile) safari"],
        ["model", ("type", "tablet")],
    ),
    # Unidentifiable Tablet
    ([r"\b((tablet|tab)[;/]|focus/\d(?!.+mobile))"], [("type", "tablet")]),
    # Unidentifiable Mobile
    ([r"(phone|mobile(?:[;/]| safari)|pda(?=.+windows ce))"], [("type", "mobile")]),
    # Generic Android Device
    ([r"(android[-\w\. ]{0,9});.+buil"], ["model", ("vendor", "Generic")]),
)
