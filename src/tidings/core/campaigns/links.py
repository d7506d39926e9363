"""Which deep links a campaign may open: the URL scheme rule.

A deep link is handed to the app's deep-link listener and, when it declines, to the platform,
which may open it in a web view. ``javascript:``, ``data:`` and ``vbscript:`` URLs run code or
render attacker-made pages there, so they are never accepted. A project may narrow the rule
further to a list of allowed schemes (``myapp``, ``https``); the server passes that list in.

The scheme is read the way a browser reads it (the WHATWG URL parser): leading spaces and C0
control characters are ignored, tabs and line breaks anywhere are removed, and the scheme is
case-insensitive, so ``" JaVa\\tScript:alert(1)"`` is recognised as ``javascript``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Final

from tidings.core.campaigns import reader as r

BLOCKED_SCHEMES: Final = frozenset({"javascript", "data", "vbscript"})
"""Schemes no campaign may open, whatever a project allows."""

SCHEME_RE: Final = re.compile(r"^[a-z][a-z0-9+.-]*$")
"""An RFC 3986 scheme, lower-cased."""

_IGNORED_ANYWHERE: Final = str.maketrans("", "", "\t\n\r")
_LEADING: Final = "".join(chr(c) for c in range(0x21))
_SCHEME_PREFIX: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def link_scheme(url: str) -> str | None:
    """The lower-cased scheme a browser would see in ``url``, or ``None`` for a relative URL."""
    cleaned = url.translate(_IGNORED_ANYWHERE).lstrip(_LEADING)
    match = _SCHEME_PREFIX.match(cleaned)
    return match.group(1).lower() if match else None


def check_deep_link(url: str, path: str, allowed: Collection[str] | None = None) -> None:
    """Refuse a link whose scheme is blocked, or (with ``allowed``) not in the allowed list.

    With an allowed list a link must name its scheme: a relative URL is refused, since the
    platform would resolve it against a base the project never chose.
    """
    scheme = link_scheme(url)
    if scheme in BLOCKED_SCHEMES:
        r.fail(path, f"the {scheme}: scheme is not allowed in a deep link")
    if allowed is None:
        return
    if scheme is None:
        r.fail(path, f"must start with an allowed scheme ({_listed(allowed)})")
    if scheme not in allowed:
        r.fail(path, f"the {scheme}: scheme is not allowed here (allowed: {_listed(allowed)})")


def _listed(schemes: Collection[str]) -> str:
    return ", ".join(f"{s}:" for s in sorted(schemes)) or "none"
