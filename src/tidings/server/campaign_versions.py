"""Campaign versions over HTTP: the ``ETag`` of a campaign and ``If-Match`` on its ``PUT``.

Two people editing one campaign must not overwrite each other without knowing: a ``PUT`` that
carries the version its author read is refused with 412 when the stored campaign has changed
since. Without ``If-Match`` a ``PUT`` replaces whatever is stored, as before.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tidings.server.errors import error_response
from tidings.storage import StoredCampaign


def etag(campaign: StoredCampaign) -> str:
    """The campaign's version as an HTTP entity tag (strong: it is a digest of the body)."""
    return f'"{campaign.version}"'


def if_match(request: Request) -> str | None:
    """The version ``If-Match`` asks for (``None``: absent or ``*``, any version will do).

    Only one tag is meaningful for a campaign; a weak ``W/`` prefix is tolerated because some
    proxies add it, and the digest compares the same either way."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    tag = header.split(",")[0].strip().removeprefix("W/")
    return tag.strip('"')


def conflict(current: StoredCampaign) -> Response:
    return error_response(
        412,
        "campaign_changed",
        "If-Match: the campaign was changed since it was read; GET it again "
        f"(its version is now {etag(current)}) and reapply the edit",
        headers={"ETag": etag(current)},
    )
