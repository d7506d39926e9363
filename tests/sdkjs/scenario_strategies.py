"""Hypothesis strategies for whole scenarios: campaigns, project caps, a device, a timeline.

The values are drawn from small pools on purpose, so that triggers match events, targeting reads
properties that are set, repeat rules and limits get reached within a short timeline, and both
runners are driven through every rule: sessions and backgrounding, property changes of every
value type (ints, floats such as ``1.0`` and ``1e16``, booleans, numeric text), targeting of every
slot, holdouts and treatments, schedules, quiet time in real zones, project caps. A few drawn
values are invalid on purpose, so the error paths (and their messages) are compared too.

Every strategy is built once, at import: thousands of scenarios are drawn per run, and building
a strategy costs more than drawing from it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

EVENT_NAMES = ("Purchase", "View", "Share", "Level Up")
SYSTEM_TRIGGERS = (
    "SessionStarted",
    "EventTriggered",
    "CustomPropertyChanged",
    "ConfigFetchFinished",
    "SdkInitialized",
    "CampaignShown",
)
PROP_KEYS = ("plan", "price", "count", "flag", "tier", "1", "when")
PARAM_KEYS = (*PROP_KEYS, "key", "newValue", "oldValue", "type")
CAMPAIGN_IDS = ("c1", "c2", "c3", "c4", "c-\u00e9", "c\U0001f600")
COHORTS = ("vip", "beta", "churn-risk")
START_MS = 1_767_607_200_000  # 2026-01-05T10:00:00Z
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
NUMBER_COMPARES = ("equal", "notEqual", "greater", "less", "greaterOrEqual", "lessOrEqual")
SLOT_KINDS = (
    "osVersion",
    "appVersion",
    "appInstallVersion",
    "country",
    "application",
    "cohort",
    "customProperty",
    "customProperty",
    "installDate",
    "eventCount",
    "eventDate",
)
LIST_POOLS = {"country": ("US", "pl", "DE"), "application": ("app-1", "app-2"), "cohort": COHORTS}
DATE_MODES = (
    "moreThanDaysAgo",
    "moreThanDaysAgoOrNever",
    "withinLastDays",
    "beforeDate",
    "afterDate",
)
RESULTS = ("Completed", "Dismissed", "Unavailable", "SkippedNoPresenter", "SkippedNoContinuation")
STEP_KINDS = (
    *["track"] * 12,
    *["set_property"] * 4,
    "set_properties",
    "remove_property",
    "clear_properties",
    "set_user_id",
    "background",
    "background",
    "foreground",
    "foreground",
    "resolve",
    "terminate",
    "launch",
)
DEVICE_FIELDS: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("deviceId", ("d-1", "d-2", "device \u00e9")),
    ("platform", ("iOS", "web")),
    ("osVersion", ("1", "1.2", "1.10", "2.3.0", "2.3.0-beta", "17.1.2", "0.9", "abc", "")),
    ("appVersion", ("1.2", "2.3.0", "1.10.1", "x")),
    ("appInstallVersion", ("1.2", "2.0", "17")),
    ("country", ("US", "pl", "DE")),
    (
        "timezone",
        (
            "Europe/Warsaw",
            "America/New_York",
            "Asia/Tokyo",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
            "UTC",
            "Pacific/Chatham",
            "Mars/Olympus_Mons",
        ),
    ),
    ("installTime", ("2026-01-01T00:00:00Z", START_MS - 5 * DAY_MS)),
    ("application", ("app-1", "app-2")),
)

_strategies: dict[tuple[Any, ...], st.SearchStrategy[Any]] = {}


def pick(choices: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """``sampled_from(choices)``, built once per tuple."""
    key = ("pick", choices)
    if key not in _strategies:
        _strategies[key] = st.sampled_from(choices)
    return _strategies[key]


def between(lo: int, hi: int) -> st.SearchStrategy[int]:
    """``integers(lo, hi)``, built once per range."""
    key = ("int", lo, hi)
    if key not in _strategies:
        _strategies[key] = st.integers(lo, hi)
    return _strategies[key]


BOOL = st.booleans()
TEXTS = pick(
    (
        "annual",
        "monthly",
        "1",
        "10",
        "2.5",
        "true",
        "False",
        " 7 ",
        "1e3",
        "1_000",
        "",
        "xxxxx",
        "2026-01-05T10:00:00Z",
        "2026-01-05",
        "\u00e9t\u00e9",
        "caf\u00e9 \U0001f600",
        "inf",
        "0x10",
    )
)
INTS = st.one_of(between(-3, 12), pick((2**53 + 1, -(2**63), 2**63 - 1, 0)))
FLOATS = st.one_of(
    pick(
        (
            1.0,
            -0.0,
            0.5,
            2.5,
            10.0,
            1e16,
            1e15,
            9.999e15,
            1.5e-7,
            2.5e-6,
            1.5e-5,
            0.0001,
            123456.5,
            0.1,
            99.99,
            1e21,
            5e-324,
            1.7976931348623157e308,
        )
    ),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)
VALUES = st.one_of(TEXTS, INTS, FLOATS, BOOL)
PROPS = st.dictionaries(pick(PROP_KEYS), VALUES, max_size=4)
# Rarely: values no property may hold, to compare the error messages.
BAD_VALUES = st.sampled_from((None, (1,), {"a": 1}, 2**64 - 1, "y" * 1025))
NUMBER_VALUES = st.one_of(between(-2, 12), pick((1.0, 2.5, 10.0, 1e16)))
OFFSETS = st.one_of(
    st.builds("+{}s".format, between(0, 90)),
    st.builds("+{}m".format, between(0, 120)),
    st.builds("+{}ms".format, between(0, 2000)),
    pick(("+1.5s", "+0.0005s", "+2h", "+1d", "+0s")),
)
REPEAT_VALUES = st.lists(between(1, 4), min_size=1, max_size=3)


def rare(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in ``one_in`` draws (a plain integer draw is biased towards its bounds)."""
    return bool(draw(pick((*[False] * (one_in - 1), True))))


def compare_value(draw: st.DrawFn, value_type: str) -> Any:
    """A campaign compare value: usually text (Amply's form), sometimes a plain JSON scalar."""
    if value_type == "number":
        raw = draw(NUMBER_VALUES)
        return str(raw) if draw(BOOL) else raw
    if value_type == "boolean":
        raw = draw(BOOL)
        return draw(pick((str(raw).lower(), raw, " TRUE ")))
    return draw(TEXTS)


def event_filter(draw: st.DrawFn) -> dict[str, Any]:
    system = draw(BOOL) and draw(BOOL)
    out: dict[str, Any] = {
        "name": draw(pick(SYSTEM_TRIGGERS if system else EVENT_NAMES)),
        "type": "system" if system else "custom",
    }
    params = []
    for _ in range(draw(between(0, 2))):
        value_type = draw(pick(("string", "number", "boolean")))
        param: dict[str, Any] = {
            "name": draw(pick(PARAM_KEYS)),
            "value": compare_value(draw, value_type),
        }
        if draw(BOOL):
            param["compareType"] = draw(pick(("===", "!==", ">", ">=", "<", "<=")))
        if draw(BOOL) or value_type != "string":
            param["valueType"] = value_type
        params.append(param)
    if params or draw(BOOL):
        out["params"] = params
    return out


def repeat(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {
        "repeatType": draw(pick(("every", "interval"))),
        "repeatEntity": draw(pick(("event", "event", "session"))),
        "repeatValue": draw(REPEAT_VALUES),
    }
    if depth < 1 and rare(draw, 4):
        out["subRepeat"] = repeat(draw, depth + 1)
    return out


def limit(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(BOOL):
        out["limit"] = draw(between(0, 3))
        out["limitType"] = draw(pick(("session", "device")))
    if draw(BOOL):
        out["interval"] = draw(between(1, 90))
        out["intervalDimension"] = draw(pick(("sec", "min", "hour", "day")))
    if draw(BOOL):
        out["count"] = draw(between(0, 4))
    return out


def date_value(draw: st.DrawFn) -> dict[str, Any]:
    if draw(BOOL):
        when = draw(
            pick((START_MS - DAY_MS, START_MS + HOUR_MS, "2026-01-04T00:00:00Z", "2026-01-05"))
        )
        return {"type": "absolute", "absoluteValue": when}
    out: dict[str, Any] = {"type": "relative", "relativeValue": draw(between(0, 30))}
    if draw(BOOL):
        out["dimension"] = draw(pick(("minutes", "hours", "days")))
    return out


def slot(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(pick(SLOT_KINDS))
    compare = pick((*NUMBER_COMPARES, "isSet", "isNotSet"))
    body: dict[str, Any]
    if kind in ("osVersion", "appVersion", "appInstallVersion"):
        body = {"compareType": draw(compare)}
        if body["compareType"] not in ("isSet", "isNotSet") or draw(BOOL):
            body["value"] = draw(pick(("1.2", "2.3", "17", "1.10.0")))
    elif kind in LIST_POOLS:
        values = [draw(pick(LIST_POOLS[kind])) for _ in range(draw(between(1, 2)))]
        body = {"type": draw(pick(("include", "exclude"))), "values": values}
    elif kind == "customProperty":
        value_type = draw(pick(("string", "number", "boolean", "datetime")))
        body = {"key": draw(pick(PROP_KEYS)), "compareType": draw(compare)}
        if draw(BOOL) or value_type != "string":
            body["valueType"] = value_type
        if value_type == "datetime":
            if draw(BOOL):
                body["dateValue"] = date_value(draw)
            else:
                body["value"] = draw(pick((START_MS, "2026-01-05T10:00:00Z", "2026-01-05")))
        else:
            body["value"] = compare_value(draw, value_type)
    elif kind == "installDate":
        body = {"compareType": draw(compare)}
        if body["compareType"] not in ("isSet", "isNotSet"):
            body["value"] = date_value(draw)
    elif kind == "eventCount":
        body = {
            "event": event_filter(draw),
            "compareType": draw(pick(NUMBER_COMPARES)),
            "value": draw(between(0, 4)),
        }
    else:
        mode = draw(pick(DATE_MODES))
        body = {"event": event_filter(draw), "bound": draw(pick(("first", "last"))), "mode": mode}
        if mode in ("beforeDate", "afterDate"):
            body["absoluteValue"] = draw(pick(("2026-01-04", "2026-01-05", "2026-01-06")))
        else:
            body["relativeValue"] = draw(between(1, 3))
            body["relativeUnit"] = draw(pick(("minutes", "hours", "days")))
    return {kind: body}


def campaign(draw: st.DrawFn) -> dict[str, Any]:
    cid = draw(pick(CAMPAIGN_IDS))
    kind = draw(pick(("DeepLink", "DeepLink", "RateReview")))
    triggering: dict[str, Any] = {"event": event_filter(draw)}
    doc: dict[str, Any] = {
        "id": cid,
        "type": kind,
        "state": draw(pick((*["Active"] * 6, "Draft", "Cancel"))),
        "triggering": triggering,
    }
    if draw(BOOL):
        doc["name"] = f"Campaign {cid}"
    if draw(BOOL):
        doc["priority"] = draw(between(-1, 3))
    if draw(BOOL):
        doc["createdAt"] = draw(between(0, 3))
    if draw(BOOL):
        rule = repeat(draw)
        if triggering["event"]["name"] == "SessionStarted" and not rare(draw, 20):
            rule["repeatEntity"] = "event"
            rule.pop("subRepeat", None)
        triggering["repeat"] = rule
    if draw(BOOL):
        triggering["limit"] = limit(draw)
    if draw(BOOL):
        doc["targeting"] = [slot(draw) for _ in range(draw(between(0, 3)))]
    if kind == "DeepLink":
        doc["content"] = {"url": f"myapp://{cid}?from=test"}
    if rare(draw, 4):
        start = START_MS + draw(between(-2, 4)) * HOUR_MS
        schedule: dict[str, Any] = {}
        if draw(BOOL):
            schedule["startTime"] = start
        if draw(BOOL):
            schedule["endTime"] = start + draw(between(1, 48)) * HOUR_MS
        doc["schedule"] = schedule
    if rare(draw, 4):
        start, end = draw(pick((("22:00", "07:00"), ("10:00", "12:00"), ("09:30", "10:05"))))
        doc["quietTime"] = {"start": start, "end": end}
    if rare(draw, 4):
        doc["holdoutPercent"] = draw(pick((0, 10, 33.3, 50, 100)))
    if rare(draw, 5):
        sizes = draw(pick(((100,), (50, 50), (33.3, 33.3, 33.4), (10, 90), (25, 25, 25, 25))))
        doc["treatments"] = [
            {"id": str(i + 1), "sizePercent": size}
            | ({"content": {"url": f"myapp://{cid}/t{i}"}} if kind == "DeepLink" and i else {})
            for i, size in enumerate(sizes)
        ]
    if rare(draw, 80):
        broken = draw(pick(("holdoutPercent", "quietTime", "triggering", "treatments", "content")))
        doc[broken] = {
            "holdoutPercent": 101,
            "quietTime": {"start": "7:00"},
            "triggering": {"event": {"name": "A"}},
            "treatments": [{"id": "1", "sizePercent": 60.5}, {"id": "1", "sizePercent": 39.5}],
            "content": {"url": ""},
        }[broken]
    return doc


def step(draw: st.DrawFn, campaign_ids: tuple[str, ...]) -> dict[str, Any]:
    kind = draw(pick(STEP_KINDS))
    out: dict[str, Any] = {"at": draw(OFFSETS), "do": kind}
    bad = rare(draw, 250)
    if kind == "track":
        out["name"] = "SessionStarted" if bad else draw(pick(EVENT_NAMES))
        if draw(BOOL):
            props = draw(PROPS)
            if bad and draw(BOOL):
                props["bad"] = draw(BAD_VALUES)
            out["properties"] = props
    elif kind == "set_property":
        out["key"] = draw(pick(PROP_KEYS))
        out["value"] = draw(BAD_VALUES) if bad else draw(VALUES)
    elif kind == "set_properties":
        out["properties"] = draw(PROPS)
    elif kind == "remove_property":
        out["key"] = draw(pick(PROP_KEYS))
    elif kind == "set_user_id":
        out["userId"] = draw(pick((None, "u-1", "u-2", "user \u00e9")))
    elif kind == "resolve":
        out["campaignId"] = draw(pick(campaign_ids or ("c1",)))
        out["result"] = draw(pick(RESULTS))
        if out["result"] == "Unavailable":
            out["unavailableReason"] = draw(
                pick(("TimedOut", "PresenterFailed", "PresenterReported"))
            )
    return out


@st.composite
def scenario(draw: st.DrawFn) -> dict[str, Any]:
    """One whole scenario document (JSON-able)."""
    campaigns = [campaign(draw) for _ in range(draw(between(0 if rare(draw, 10) else 1, 4)))]
    doc: dict[str, Any] = {"campaigns": campaigns}
    if draw(BOOL):
        capping = {}
        if draw(BOOL):
            capping["perSession"] = draw(between(0, 3))
        if draw(BOOL):
            capping["perDay"] = draw(between(0, 3))
        doc["project"] = {"frequencyCapping": capping}
        if draw(BOOL):
            doc["project"]["configRefreshSeconds"] = draw(pick((0, 60, 3600, 1.5)))
    device = {key: draw(pick(choices)) for key, choices in DEVICE_FIELDS if draw(BOOL)}
    if device:
        doc["device"] = device
    if draw(BOOL):
        doc["cohorts"] = [draw(pick(COHORTS)) for _ in range(draw(between(0, 2)))]
    if draw(BOOL):
        doc["sessionTimeoutSeconds"] = draw(pick((0, 1, 30, 60, 90.5, 300)))
    first = draw(
        pick(
            (
                "2026-01-05T10:00:00Z",
                "2026-03-29T00:30:00+01:00",
                "2026-07-01T21:59:59.999Z",
                "2026-01-05T10:00:00.0005Z",
            )
        )
    )
    ids = tuple(c["id"] for c in campaigns)
    steps = [{"at": first, "do": "launch"}]
    for _ in range(draw(between(3, 24))):
        item = step(draw, ids)
        if steps[-1]["do"] == "terminate" and item["do"] != "launch" and not rare(draw, 40):
            steps.append({"at": "+1m", "do": "launch"})  # only a launch may follow a terminate
        steps.append(item)
    doc["steps"] = steps
    return doc
