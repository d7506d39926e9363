"""What a device hands to the app when a campaign fires (docs/spec/campaigns.md, "Actions").

Pure helpers shared by the SDK and anything else that performs actions, so the payload an app's
listener sees is defined once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tidings.core.campaigns import Decision


def deep_link_url(decision: Decision) -> str | None:
    """The URL a DeepLink decision opens (the treatment's content wins), or None."""
    content = decision.content
    if decision.campaign.type != "DeepLink" or not isinstance(content, Mapping):
        return None
    url = content.get("url")
    return url if isinstance(url, str) and url else None


def action_info(
    decision: Decision, triggering_properties: Mapping[str, Any], url: str | None = None
) -> dict[str, Any]:
    """The ``info`` map given to deep-link listeners, rate-review handlers and gate presenters.

    The contract's five keys, plus ``url`` and ``content`` (what Amply's gate presenters also
    receive) when the action has them.
    """
    info: dict[str, Any] = {
        "campaignId": decision.campaign_id,
        "campaignName": decision.campaign.name,
        "triggeringEvent": decision.source,
        "triggeringProperties": dict(triggering_properties),
        "treatmentId": decision.treatment_id,
    }
    if url is not None:
        info["url"] = url
    if decision.content is not None:
        info["content"] = dict(decision.content)
    return info


def url_params(url: str) -> dict[str, str]:
    """A gate presenter's ``params``: the URL's query string as a flat map (last value wins)."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
