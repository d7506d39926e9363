"""Small checks for admin and partner request bodies; each failure is a 400 naming the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tidings.core.campaigns.links import BLOCKED_SCHEMES, SCHEME_RE
from tidings.core.events import json_type
from tidings.server.errors import bad_request

MAX_DEEP_LINK_SCHEMES = 50


def reject_unknown(body: Mapping[str, Any], allowed: Iterable[str], path: str = "") -> None:
    known = set(allowed)
    for key in body:
        if key not in known:
            where = f"{path}.{key}" if path else key
            raise bad_request(where, f"unknown field (expected one of {', '.join(sorted(known))})")


def text(
    body: Mapping[str, Any],
    key: str,
    *,
    required: bool = True,
    max_length: int = 255,
    path: str = "",
) -> str | None:
    where = f"{path}.{key}" if path else key
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request(where, "is required (a non-empty string)")
        return None
    if not isinstance(value, str):
        raise bad_request(where, f"must be a string, not {json_type(value)}")
    if not value.strip():
        raise bad_request(where, "must not be empty")
    if len(value) > max_length:
        raise bad_request(where, f"must be at most {max_length} characters")
    return value


def integer(
    body: Mapping[str, Any], key: str, *, minimum: int, maximum: int, path: str = ""
) -> int | None:
    where = f"{path}.{key}" if path else key
    value = body.get(key)
    if value is None:
        return None
    if type(value) is not int:
        raise bad_request(where, f"must be an integer, not {json_type(value)}")
    if not minimum <= value <= maximum:
        raise bad_request(where, f"must be between {minimum} and {maximum}")
    return value


SETTINGS_KEYS = (
    "sessionTimeoutSeconds",
    "frequencyCapping",
    "configRefreshSeconds",
    "deepLinkSchemes",
    "awsAccountId",
)


def settings_patch(body: Mapping[str, Any], path: str = "settings") -> dict[str, Any]:
    """A (partial) project settings object ``{sessionTimeoutSeconds, frequencyCapping,
    configRefreshSeconds, deepLinkSchemes, awsAccountId}``, checked key by key."""
    reject_unknown(body, SETTINGS_KEYS, path)
    out: dict[str, Any] = {}
    if "awsAccountId" in body:  # null: back to the default, the project id
        out["awsAccountId"] = text(body, "awsAccountId", required=False, max_length=64, path=path)
    for key, lo, hi in (
        ("sessionTimeoutSeconds", 1, 86_400),
        ("configRefreshSeconds", 1, 7 * 86_400),
    ):
        if key in body:
            value = integer(body, key, minimum=lo, maximum=hi, path=path)
            if value is None:
                raise bad_request(f"{path}.{key}", "must be an integer, not null")
            out[key] = value
    if "frequencyCapping" in body:
        capping = body["frequencyCapping"]
        where = f"{path}.frequencyCapping"
        if capping is None:
            out["frequencyCapping"] = None
        elif not isinstance(capping, dict):
            raise bad_request(where, f"must be an object or null, not {json_type(capping)}")
        else:
            reject_unknown(capping, ("perSession", "perDay"), where)
            out["frequencyCapping"] = {
                k: v
                for k in ("perSession", "perDay")
                if (v := integer(capping, k, minimum=0, maximum=1_000_000, path=where)) is not None
            }
    if "deepLinkSchemes" in body:
        where = f"{path}.deepLinkSchemes" if path else "deepLinkSchemes"
        out["deepLinkSchemes"] = deep_link_schemes(body["deepLinkSchemes"], where)
    return out


def deep_link_schemes(value: object, where: str) -> list[str] | None:
    """``null`` (any scheme but the blocked ones) or a list of schemes, stored lower-cased.

    A trailing ``:`` is tolerated (``"https:"``), since that is how schemes are often written.
    """
    if value is None:
        return None
    if not isinstance(value, list):
        raise bad_request(where, f"must be an array of URL schemes or null, not {json_type(value)}")
    if len(value) > MAX_DEEP_LINK_SCHEMES:
        raise bad_request(where, f"at most {MAX_DEEP_LINK_SCHEMES} schemes")
    out: list[str] = []
    for i, item in enumerate(value):
        scheme = item.removesuffix(":").lower() if isinstance(item, str) else None
        if scheme is None or not SCHEME_RE.match(scheme):
            raise bad_request(f"{where}[{i}]", "must be a URL scheme such as 'myapp' or 'https'")
        if scheme in BLOCKED_SCHEMES:
            raise bad_request(f"{where}[{i}]", f"the {scheme}: scheme is never allowed")
        if scheme not in out:
            out.append(scheme)
    return out
