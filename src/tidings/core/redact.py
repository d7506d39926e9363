"""Write-only settings: how secrets are shown, and how a shown mask is read back.

Destination and sink settings hold credentials (an Amplitude secret key, webhook header values,
a password inside a URL). They are written through the admin API, the CLI and the dashboard
but never shown again: every read shows :data:`MASK` in their place. A client that reads a
configuration, changes one thing and writes it all back sends the mask unchanged, and
:func:`keep_masked` then keeps the stored secret, so an edit never wipes a secret by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

MASK: Final = "***"


def mask(value: Any) -> Any:
    """:data:`MASK` for a secret that is set; an empty or missing one is shown as it is."""
    return MASK if isinstance(value, str) and value else value


def mask_url(url: str) -> str:
    """The URL with the password of its ``user:password@`` part masked (nothing else changes;
    a URL that does not parse is returned as it is, since no password can be told apart)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def keep_masked(sent: Any, stored: Any, shown: Callable[[Any], Any] = mask) -> Any:
    """``stored`` when ``sent`` is exactly how ``stored`` is shown (and differs from it), else
    ``sent``: the value to save for one write-only setting."""
    if stored is not None and sent != stored and sent == shown(stored):
        return stored
    return sent
