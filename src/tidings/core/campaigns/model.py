"""The campaign model: Amply's campaign JSON plus Tidings' delivery extensions.

:func:`parse_campaign` validates once, up front, and turns every compare value into its typed form,
so evaluating an event never parses JSON or text. ``Campaign.raw`` keeps the document as given and
:meth:`Campaign.to_json` returns it, so a campaign round-trips unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from tidings.core.campaigns import reader as r
from tidings.core.campaigns.buckets import Treatment, parse_treatments
from tidings.core.campaigns.countries import is_country_code
from tidings.core.campaigns.goals import Goal, parse_conversions
from tidings.core.campaigns.limits import NO_LIMIT, Limit, parse_limit
from tidings.core.campaigns.links import check_deep_link
from tidings.core.campaigns.repeat import DEFAULT_REPEAT, Repeat, parse_repeat
from tidings.core.campaigns.schedule import QuietTime, Schedule, parse_quiet_time, parse_schedule
from tidings.core.campaigns.server import (
    CHANNELS,
    IN_APP_CHANNEL,
    SERVER_CHANNEL,
    SERVER_ONLY_SLOTS_REFUSED,
    SERVER_TYPES,
    ServerContent,
    parse_server_content,
)
from tidings.core.campaigns.targeting import Slot, parse_targeting
from tidings.core.campaigns.trigger import EventFilter, parse_event_filter
from tidings.core.errors import InvalidCampaign
from tidings.core.events import NEVER_SHOWN_TRIGGERS, SESSION_STARTED

T = TypeVar("T")

CAMPAIGN_TYPES: Final = ("DeepLink", "RateReview", *SERVER_TYPES)
CAMPAIGN_STATES: Final = ("Draft", "Active", "Cancel")


@dataclass(frozen=True, slots=True, eq=False)
class Campaign:
    """One validated campaign. Identity is ``id``; ``raw`` is the original JSON object."""

    id: str
    name: str
    type: str
    state: str
    priority: int
    created_at: int
    trigger: EventFilter
    repeat: Repeat
    limit: Limit
    targeting: tuple[Slot, ...]
    content: Mapping[str, Any] | None
    schedule: Schedule | None
    quiet_time: QuietTime | None
    holdout_percent: float
    treatments: tuple[Treatment, ...]
    raw: Mapping[str, Any]
    conversions: tuple[Goal, ...] = ()
    """Conversion goals (at most three): what the campaign's results measure."""
    channel: str = IN_APP_CHANNEL
    server_contents: Mapping[str, ServerContent] | None = None
    """A server campaign's parsed contents: ``""`` the campaign's own, else by treatment id."""

    @property
    def active(self) -> bool:
        return self.state == "Active"

    def server_content(self, treatment_id: str) -> ServerContent | None:
        """The content a server decision for ``treatment_id`` renders (the treatment's own
        when it has one, else the campaign's); ``None`` for an in-app campaign."""
        contents = self.server_contents
        if contents is None:
            return None
        found = contents.get(treatment_id)
        return found if found is not None else contents.get("")

    @property
    def rank_key(self) -> tuple[int, int, str]:
        """Sort key of the contract: priority high to low, then earliest created, then id."""
        return (-self.priority, self.created_at, self.id)

    def to_json(self) -> dict[str, Any]:
        """A deep copy of the campaign JSON as it was given."""
        return copy.deepcopy(dict(self.raw))


@dataclass(slots=True)
class CampaignParts:
    """What each independent part of a campaign document read to; ``None`` where it was invalid.

    Cross-field rules (:data:`CAMPAIGN_RULES`) look at these parts and skip a rule whose parts did
    not read, so a broken trigger is reported once, not again by every rule that uses it.
    """

    root: r.JsonObj
    id: str | None = None
    name: str | None = None
    type: str | None = None
    state: str | None = None
    priority: int | None = None
    created_at: int | None = None
    trigger: EventFilter | None = None
    repeat: Repeat | None = None
    limit: Limit | None = None
    targeting: tuple[Slot, ...] | None = None
    treatments: tuple[Treatment, ...] | None = None
    content: Mapping[str, Any] | None = None
    schedule: Schedule | None = None
    quiet_time: QuietTime | None = None
    holdout_percent: float | None = None
    conversions: tuple[Goal, ...] | None = None
    channel: str | None = None
    server_contents: Mapping[str, ServerContent] | None = None


def _session_started_repeat(parts: CampaignParts) -> None:
    """A ``SessionStarted`` trigger may not use ``repeatEntity: "session"`` at any level."""
    trigger = parts.trigger
    if (
        trigger is not None
        and trigger.name == SESSION_STARTED
        and _uses_session_entity(parts.repeat)
    ):
        r.fail(
            "triggering.repeat.repeatEntity",
            "a SessionStarted trigger requires repeatEntity 'event'",
        )


def _trigger_can_show(parts: CampaignParts) -> None:
    """A campaign triggered on an event that comes when nothing can be shown never fires."""
    trigger = parts.trigger
    if trigger is not None and trigger.name in NEVER_SHOWN_TRIGGERS:
        r.fail("triggering.event.name", f"a campaign triggered on {trigger.name} can never show")


def _server_targeting(parts: CampaignParts) -> None:
    """A server campaign may not target what only a device knows (install date and version)."""
    if parts.channel != SERVER_CHANNEL or parts.targeting is None:
        return
    raw = parts.root.get("targeting") or []
    for i, item in enumerate(raw):
        for name in SERVER_ONLY_SLOTS_REFUSED:
            if isinstance(item, Mapping) and item.get(name) is not None:
                r.fail(f"targeting[{i}].{name}", "is not available to server campaigns")


CampaignRule = Callable[[CampaignParts], None]
CAMPAIGN_RULES: list[CampaignRule] = [_trigger_can_show, _session_started_repeat, _server_targeting]
"""Rules across parts of a campaign, run after every part was read; each raises
:class:`InvalidCampaign` naming the path it is about."""


def validate_campaign(
    obj: object, *, allowed_schemes: Collection[str] | None = None
) -> list[InvalidCampaign]:
    """Every problem of a campaign definition as it is submitted, in one pass (``[]``: valid).

    This is the one set of rules for the admin API, the dashboard editor and
    ``tidings campaigns validate``. ``id`` is optional here (the server assigns one); when given it
    must be a non-empty string. Deep links may never use a blocked scheme (``javascript:``...);
    ``allowed_schemes``, a project's own list, narrows them further (see
    :mod:`tidings.core.campaigns.links`). Never raises on any JSON value.
    """
    found = _read(obj, require_id=False, allowed_schemes=allowed_schemes)[1].found
    return found + _unknown_countries(obj, {p.field for p in found})


def _unknown_countries(obj: object, reported: set[str]) -> list[InvalidCampaign]:
    """Country rule values that are not ISO 3166-1 alpha-2 codes (a submission-only check:
    parsing a stored campaign stays lenient, see :mod:`.countries`)."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("targeting"), list):
        return []
    out = []
    for i, item in enumerate(obj["targeting"]):
        rule = item.get("country") if isinstance(item, Mapping) else None
        values = rule.get("values") if isinstance(rule, Mapping) else None
        for j, value in enumerate(values if isinstance(values, list) else []):
            path = f"targeting[{i}].country.values[{j}]"
            known = not isinstance(value, str) or not value or is_country_code(value)
            if not known and path not in reported:
                reason = f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. US, GB)"
                out.append(InvalidCampaign(path, reason))
    return out


def parse_campaign(obj: object, *, allowed_schemes: Collection[str] | None = None) -> Campaign:
    """Validate a campaign JSON object that has its ``id`` and build the typed campaign.

    Raises ``InvalidCampaign(path, reason)`` for the first problem, with every problem found in
    the same pass in its ``errors``.
    """
    parts, problems = _read(obj, require_id=True, allowed_schemes=allowed_schemes)
    problems.raise_first()
    assert parts is not None
    return _build(parts)


def _read(
    obj: object, *, require_id: bool, allowed_schemes: Collection[str] | None = None
) -> tuple[CampaignParts | None, r.Problems]:
    problems = r.Problems()
    attempt = problems.attempt
    root = attempt(r.obj, obj, "")
    if root is None:
        return None, problems
    p = CampaignParts(root)
    p.id = attempt(_id, root, require_id)
    p.name = attempt(_name, root)
    p.type = attempt(r.enum, root, "type", "", CAMPAIGN_TYPES)
    p.channel = attempt(_channel, root, p.type)
    p.state = attempt(r.enum, root, "state", "", CAMPAIGN_STATES, default="Draft")
    p.priority = attempt(r.integer, root, "priority", "", default=0)
    p.created_at = attempt(r.integer, root, "createdAt", "", minimum=0, default=0)

    triggering = attempt(r.obj, root.get("triggering"), "triggering")
    if triggering is not None:
        p.trigger = attempt(parse_event_filter, triggering.get("event"), "triggering.event")
        p.repeat = attempt(
            _optional, triggering, "repeat", "triggering", parse_repeat, DEFAULT_REPEAT
        )
        p.limit = attempt(_optional, triggering, "limit", "triggering", parse_limit, NO_LIMIT)

    p.targeting = attempt(parse_targeting, root.get("targeting"))
    if p.type is not None:
        treatments_raw = root.get("treatments")
        p.treatments = (
            ()
            if treatments_raw is None
            else attempt(parse_treatments, treatments_raw, "treatments", p.type)
        )
        if p.treatments is not None:
            p.content = attempt(_content, root, p.type, p.treatments)
            attempt(_check_links, p.content, p.treatments, allowed_schemes)
            if p.type in SERVER_TYPES:
                p.server_contents = attempt(_server_contents, p.type, p.content, p.treatments)
        elif root.get("content") is not None:  # the content is still checked on its own
            content = attempt(_content, root, p.type, ())
            attempt(_check_links, content, (), allowed_schemes)

    p.schedule = attempt(_optional, root, "schedule", "", parse_schedule, None)
    p.quiet_time = attempt(_optional, root, "quietTime", "", parse_quiet_time, None)
    p.holdout_percent = attempt(_holdout, root)
    p.conversions = attempt(parse_conversions, root.get("conversions"), "conversions")
    for rule in CAMPAIGN_RULES:
        attempt(rule, p)
    return p, problems


def _build(p: CampaignParts) -> Campaign:
    """The typed campaign from parts that all read (``_read`` found no problem)."""
    assert p.id is not None and p.type is not None and p.state is not None
    assert p.priority is not None and p.created_at is not None and p.trigger is not None
    assert p.repeat is not None and p.limit is not None and p.targeting is not None
    assert p.treatments is not None and p.holdout_percent is not None
    assert p.conversions is not None
    return Campaign(
        id=p.id,
        name=p.name if p.name is not None else p.id,
        type=p.type,
        state=p.state,
        priority=p.priority,
        created_at=p.created_at,
        trigger=p.trigger,
        repeat=p.repeat,
        limit=p.limit,
        targeting=p.targeting,
        content=p.content,
        schedule=p.schedule,
        quiet_time=p.quiet_time,
        holdout_percent=p.holdout_percent,
        treatments=p.treatments,
        raw=p.root,
        conversions=p.conversions,
        channel=p.channel if p.channel is not None else IN_APP_CHANNEL,
        server_contents=p.server_contents,
    )


def _id(root: r.JsonObj, required: bool) -> str | None:
    cid = root.get("id")
    if cid is None and not required:
        return None
    if not isinstance(cid, str) or not cid:
        r.fail(
            "id",
            "is required (a non-empty string)" if cid is None else "must be a non-empty string",
        )
    return cid


def _channel(root: r.JsonObj, ctype: str | None) -> str:
    """``in_app`` (the default) or ``server``; a ``Webhook`` campaign is a server campaign
    (absent ``channel`` follows the type), and only a ``Webhook`` campaign may be one."""
    server = ctype in SERVER_TYPES
    default = SERVER_CHANNEL if server else IN_APP_CHANNEL
    channel = r.enum(root, "channel", "", CHANNELS, default=default)
    if ctype is not None and server != (channel == SERVER_CHANNEL):
        if server:
            r.fail("channel", f"must be {SERVER_CHANNEL!r} for a {ctype} campaign")
        r.fail("type", f"must be one of {', '.join(SERVER_TYPES)} for a server campaign")
    return channel


def _server_contents(
    ctype: str, content: Mapping[str, Any] | None, treatments: tuple[Treatment, ...]
) -> Mapping[str, ServerContent] | None:
    """The parsed contents of a server campaign (its own under ``""``, then per treatment)."""
    if ctype not in SERVER_TYPES:
        return None
    out: dict[str, ServerContent] = {}
    if content is not None:
        out[""] = parse_server_content(content, "content")
    for i, treatment in enumerate(treatments):
        if treatment.content is not None:
            out[treatment.id] = parse_server_content(treatment.content, f"treatments[{i}].content")
    return out


def _name(root: r.JsonObj) -> str | None:
    name = root.get("name")
    if name is not None and not isinstance(name, str):
        r.fail("name", "must be a string")
    return name


def _optional(
    parent: r.JsonObj, key: str, path: str, read: Callable[[object, str], T], default: T
) -> T:
    """An optional part: ``default`` when absent or null, else ``read`` at its path."""
    raw = parent.get(key)
    return default if raw is None else read(raw, r.join(path, key))


def _holdout(root: r.JsonObj) -> float:
    holdout = r.number(root, "holdoutPercent", "", default=0.0)
    if not 0 <= holdout <= 100:
        r.fail("holdoutPercent", "must be between 0 and 100")
    return holdout


def validate_campaigns(obj: object) -> list[InvalidCampaign]:
    """:func:`validate_campaign` for one campaign object or a list of them (a campaign file).

    Paths of list items start with ``[i]``; two campaigns of one list may not share an id.
    """
    if not isinstance(obj, list):
        return validate_campaign(obj)
    found: list[InvalidCampaign] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(obj):
        found += [InvalidCampaign(_prefix(i, e.field), e.reason) for e in validate_campaign(item)]
        cid = item.get("id") if isinstance(item, Mapping) else None
        if isinstance(cid, str) and cid:
            if cid in seen:
                reason = f"duplicate campaign id {cid!r} (also [{seen[cid]}])"
                found.append(InvalidCampaign(_prefix(i, "id"), reason))
            seen.setdefault(cid, i)
    return found


def parse_campaigns(obj: object) -> list[Campaign]:
    """One campaign object or a list of them; paths of list items start with ``[i]``."""
    if isinstance(obj, list):
        out: list[Campaign] = []
        for i, item in enumerate(obj):
            try:
                out.append(parse_campaign(item))
            except InvalidCampaign as exc:
                errors = [InvalidCampaign(_prefix(i, e.field), e.reason) for e in exc.errors]
                raise InvalidCampaign(errors[0].field, errors[0].reason, errors) from None
        return out
    return [parse_campaign(obj)]


def _prefix(index: int, field: str) -> str:
    if not field:
        return f"[{index}]"
    return f"[{index}]{field}" if field.startswith("[") else f"[{index}].{field}"


def _uses_session_entity(repeat: Repeat | None) -> bool:
    while repeat is not None:
        if repeat.entity == "session":
            return True
        repeat = repeat.sub
    return False


def _check_links(
    content: Mapping[str, Any] | None,
    treatments: tuple[Treatment, ...],
    allowed: Collection[str] | None,
) -> None:
    """The campaign's deep link and every treatment's follow the scheme rule."""
    if content is not None and isinstance(content.get("url"), str):
        check_deep_link(content["url"], "content.url", allowed)
    for i, treatment in enumerate(treatments):
        url = treatment.content.get("url") if treatment.content is not None else None
        if isinstance(url, str):
            check_deep_link(url, f"treatments[{i}].content.url", allowed)


def _content(
    root: r.JsonObj, ctype: str, treatments: tuple[Treatment, ...]
) -> Mapping[str, Any] | None:
    raw = root.get("content")
    if ctype == "RateReview":
        if raw is not None and raw != {}:
            r.fail("content", "must be null or absent for a RateReview campaign")
        return None
    if ctype in SERVER_TYPES:
        if raw is None:
            if treatments and all(t.content is not None for t in treatments):
                return None
            r.fail("content", f"is required for a {ctype} campaign")
        parse_server_content(raw, "content")
        return r.obj(raw, "content")
    if raw is None:
        if treatments and all(t.content is not None for t in treatments):
            return None
        r.fail("content.url", "is required for a DeepLink campaign")
    content = r.obj(raw, "content")
    url = content.get("url")
    if not isinstance(url, str) or not url:
        r.fail("content.url", "is required for a DeepLink campaign (a non-empty string)")
    return content
