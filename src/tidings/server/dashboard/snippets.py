"""The JavaScript SDK snippet shown on the campaign list of web and React Native apps.

It fills in what an engineer needs to paste: the app id, the app's publishable key and this
server's URL, and says whether the app accepts public clients yet (and from which origins).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tidings.server.public_clients import public_clients
from tidings.storage import Application, Store

WEB_PLATFORMS = frozenset({"web", "javascript", "js"})
REACT_NATIVE_PLATFORMS = frozenset({"react-native", "react native", "reactnative", "rn"})


def js_platform(platform: str) -> str | None:
    """``"web"`` or ``"react-native"`` for the platforms the JavaScript SDK serves, else None."""
    name = platform.strip().lower()
    if name in WEB_PLATFORMS:
        return "web"
    if name in REACT_NATIVE_PLATFORMS:
        return "react-native"
    return None


async def sdk_js_snippet(request: Request, store: Store, app: Application) -> dict[str, Any] | None:
    kind = js_platform(app.platform)
    if kind is None:
        return None
    keys = [k for k in await store.list_keys(app.id) if k.active]
    settings = await public_clients(request).settings_for(store, app.id)
    return {
        "kind": kind,
        "app_id": app.id,
        "key": keys[-1].api_key_public if keys else "YOUR_PUBLISHABLE_KEY",
        "backend": str(request.base_url).rstrip("/"),
        "enabled": settings.enabled,
        "origins": list(settings.allowed_origins),
        "missing_origin": settings.allow_missing_origin,
    }
