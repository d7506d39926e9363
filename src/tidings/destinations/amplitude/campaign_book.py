"""What Currents mode knows of campaigns: their names and treatments, and recent shows.

A stored ``CampaignShown`` or ``CampaignResolved`` event names its campaign by id only, and a
decision carries its treatment and its own id but no campaign name. Braze's engagement events
carry all of them, so a served Currents instance is given the campaigns of its apps (the
pipeline loads them from the store before each batch), and remembers the decision of each show
it exported, to name it on the click that follows (``send_id``).

Thread-safe: the pipeline loads on its event loop while worker threads map.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tidings.core.campaigns import Treatment, parse_campaign, pick_treatment
from tidings.core.campaigns.engine import NO_TREATMENT
from tidings.core.errors import InvalidCampaign

MAX_SHOWS = 100_000
"""Shows remembered at most (all are forgotten when full: a click then has no ``send_id``)."""
SHOWS_PER_KEY = 8


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    """A campaign's name and A/B arms, as the export names them."""

    name: str
    treatments: tuple[Treatment, ...] = ()

    def treatment_for(self, campaign_id: str, user_key: str) -> str:
        """The treatment id the campaign engine gives ``user_key`` (``"0"``: no A/B arms)."""
        treatment = pick_treatment(campaign_id, user_key, self.treatments)
        return NO_TREATMENT if treatment is None else treatment.id


@dataclass(frozen=True, slots=True)
class Show:
    """A ``SUCCESS`` decision: when, its id (Braze's ``send_id``) and its treatment."""

    timestamp: int
    decision_id: str
    treatment_id: str


class CampaignBook:
    """Campaigns by id, and the shows of each (app, device, campaign) seen lately."""

    __slots__ = ("_campaigns", "_lock", "_parsed", "_shows")

    def __init__(self, campaigns: Mapping[str, CampaignInfo] | None = None) -> None:
        self._campaigns: dict[str, CampaignInfo] = dict(campaigns or {})
        self._parsed: dict[str, tuple[Mapping[str, Any], CampaignInfo]] = {}
        self._shows: dict[tuple[str, str, str], list[Show]] = {}
        self._lock = threading.Lock()

    def load(self, stored: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        """Replace the campaigns with ``(id, campaign JSON)`` pairs (a body unchanged since the
        last load is not parsed again)."""
        parsed: dict[str, tuple[Mapping[str, Any], CampaignInfo]] = {}
        for campaign_id, body in stored:
            known = self._parsed.get(campaign_id)
            if known is not None and known[0] == body:
                parsed[campaign_id] = known
            else:
                parsed[campaign_id] = (body, _info(campaign_id, body))
        self._parsed = parsed
        self._campaigns = {cid: info for cid, (_, info) in parsed.items()}

    def get(self, campaign_id: str) -> CampaignInfo | None:
        return self._campaigns.get(campaign_id)

    def remember(self, app_id: str, device_id: str, campaign_id: str, show: Show) -> None:
        """Record a show (a ``SUCCESS`` decision) of ``campaign_id`` on a device."""
        key = (app_id, device_id, campaign_id)
        with self._lock:
            if len(self._shows) >= MAX_SHOWS and key not in self._shows:
                self._shows.clear()
            shows = self._shows.setdefault(key, [])
            if show not in shows:
                shows.append(show)
                shows.sort(key=lambda s: s.timestamp)
                del shows[:-SHOWS_PER_KEY]

    def show_before(
        self, app_id: str, device_id: str, campaign_id: str, timestamp: int
    ) -> Show | None:
        """The latest show of ``campaign_id`` on the device at or before ``timestamp``."""
        with self._lock:
            shows = self._shows.get((app_id, device_id, campaign_id), ())
            earlier = [s for s in shows if s.timestamp <= timestamp]
        return earlier[-1] if earlier else None


def _info(campaign_id: str, body: Mapping[str, Any]) -> CampaignInfo:
    """A stored campaign's name and arms; a body today's rules refuse still gives its name."""
    try:
        campaign = parse_campaign({**body, "id": campaign_id})
    except InvalidCampaign:
        name = body.get("name")
        return CampaignInfo(name if isinstance(name, str) and name else campaign_id)
    return CampaignInfo(campaign.name, campaign.treatments)
