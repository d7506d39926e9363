"""The app and device facts a stream record is stamped with, and the envelope parts made from them.

One upload (or one log row) carries one device context for all of its events, so the context
builds its ``application`` / ``client`` / ``device`` objects and the endpoint string once and
every record of that context shares them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from tidings.core.errors import InvalidInput
from tidings.core.timeparse import format_instant


@dataclass(frozen=True, slots=True)
class SessionSpan:
    """What is known about the session an event belongs to (from the upload's ``sessions``)."""

    session_id: str
    start_timestamp: int | None = None
    stop_timestamp: int | None = None


@dataclass(frozen=True, slots=True)
class StreamContext:
    """The app and device facts uploaded with a batch of events (docs/spec/http-api.md).

    Every field but ``app_id`` and ``client_id`` may be unknown; unknown values are left out of
    the record rather than sent as ``null``, because Pinpoint consumers expect strings there.
    ``aws_account_id`` is the ``awsAccountId`` of the app's campaign records (its project's
    setting, else the project id), when the caller knows it.
    """

    app_id: str
    client_id: str
    user_id: str | None = None
    sdk_name: str | None = None
    sdk_version: str | None = None
    app_title: str | None = None
    app_version: str | None = None
    package_name: str | None = None
    platform: str | None = None
    os_version: str | None = None
    locale: str | None = None
    country: str | None = None
    make: str | None = None
    model: str | None = None
    sessions: Mapping[str, SessionSpan] = field(default_factory=dict)
    aws_account_id: str | None = None
    _parts: dict[str, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def envelope_part(self, name: str) -> Any:
        """The ``application``/``client``/``device`` objects, built once per context.

        A batch of uploaded events shares one context, so building these once saves most of the
        per-record cost. Records of one context share these nested objects: treat records as
        read-only (copy before changing one).
        """
        part = self._parts.get(name)
        if part is None:
            part = _PART_BUILDERS[name](self)
            self._parts[name] = part
        return part

    @classmethod
    def from_upload(
        cls,
        app_id: str,
        device: Mapping[str, Any],
        user: Mapping[str, Any] | None = None,
        sessions: list[Mapping[str, Any]] | None = None,
        app: Mapping[str, Any] | None = None,
        *,
        aws_account_id: str | None = None,
    ) -> StreamContext:
        """Read the ``device``/``user``/``sessions`` blocks of ``POST /api/v1/session``.

        ``app`` optionally carries the application's ``name`` and ``packageName`` as the server
        knows them (the device does not upload those).
        """
        device_id = device.get("deviceId")
        if not isinstance(device_id, str) or not device_id:
            raise InvalidInput("device.deviceId", "must be a non-empty string")
        sdk = device.get("sdk")
        sdk_map: Mapping[str, Any] = sdk if isinstance(sdk, Mapping) else {}
        spans: dict[str, SessionSpan] = {}
        for index, raw in enumerate(sessions or ()):
            sid = raw.get("id")
            if not isinstance(sid, str):
                raise InvalidInput(f"sessions[{index}].id", "must be a string")
            spans[sid] = SessionSpan(
                sid, _opt_int(raw.get("startedAt")), _opt_int(raw.get("endedAt"))
            )
        app_map: Mapping[str, Any] = app or {}
        return cls(
            app_id=app_id,
            client_id=device_id,
            user_id=_opt_str((user or {}).get("userId")),
            sdk_name=_opt_str(sdk_map.get("name")),
            sdk_version=_opt_str(sdk_map.get("version")),
            app_title=_opt_str(app_map.get("name")),
            app_version=_opt_str(device.get("appVersion")),
            package_name=_opt_str(app_map.get("packageName")),
            platform=_opt_str(device.get("platform")),
            os_version=_opt_str(device.get("osVersion")),
            locale=_opt_str(device.get("locale")),
            country=_opt_str(device.get("country")),
            make=_opt_str(device.get("manufacturer")),
            model=_opt_str(device.get("model")),
            sessions=spans,
            aws_account_id=aws_account_id,
        )


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _opt_int(value: object) -> int | None:
    return value if type(value) is int else None


# --- envelope pieces ---------------------------------------------------------------------------


def _application(ctx: StreamContext, *, with_sdk: bool) -> dict[str, Any]:
    sdk: dict[str, str] = {}
    if with_sdk:
        if ctx.sdk_name is not None:
            sdk["name"] = ctx.sdk_name
        if ctx.sdk_version is not None:
            sdk["version"] = ctx.sdk_version
    out: dict[str, Any] = {"app_id": ctx.app_id, "sdk": sdk}
    if ctx.app_title is not None:
        out["title"] = ctx.app_title
    if ctx.app_version is not None:
        out["version_name"] = ctx.app_version
    if ctx.package_name is not None:
        out["package_name"] = ctx.package_name
    return out


def _client(ctx: StreamContext) -> dict[str, str]:
    if ctx.user_id is None:
        return {"client_id": ctx.client_id}
    return {"client_id": ctx.client_id, "user_id": ctx.user_id}


def _device(ctx: StreamContext) -> dict[str, Any]:
    locale: dict[str, str] = {}
    if ctx.locale is not None:
        code = ctx.locale.replace("-", "_")
        locale["code"] = code
        language, _, region = code.partition("_")
        if language:
            locale["language"] = language.lower()
        country = ctx.country or region
        if country:
            locale["country"] = country.upper()
    elif ctx.country is not None:
        locale["country"] = ctx.country.upper()
    platform: dict[str, str] = {}
    if ctx.platform is not None:
        platform["name"] = ctx.platform.lower()
    if ctx.os_version is not None:
        platform["version"] = ctx.os_version
    out: dict[str, Any] = {"locale": locale}
    if ctx.make is not None:
        out["make"] = ctx.make
    if ctx.model is not None:
        out["model"] = ctx.model
    out["platform"] = platform
    return out


def endpoint_json(
    ctx: StreamContext, request_id: str, effective_ms: int, channel_type: str = "IN_APP"
) -> str:
    """The endpoint record Pinpoint embeds as a *string* in ``client_context.custom.endpoint``:
    its channel, the request that last updated it and when (ISO 8601 UTC), and its user."""
    endpoint = {
        "ChannelType": channel_type,
        "EndpointStatus": "ACTIVE",
        "OptOut": "NONE",
        "RequestId": request_id,
        "EffectiveDate": format_instant(effective_ms),
        "User": ctx.envelope_part("endpoint_user"),
    }
    return orjson.dumps(endpoint).decode()


_PART_BUILDERS: Final[dict[str, Callable[[StreamContext], Any]]] = {
    "application": lambda ctx: _application(ctx, with_sdk=True),
    "campaign_application": lambda ctx: _application(ctx, with_sdk=False),
    "client": _client,
    "device": _device,
    "endpoint_user": lambda ctx: {} if ctx.user_id is None else {"UserId": ctx.user_id},
}
