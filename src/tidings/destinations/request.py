"""A request as plain data: what a destination wants sent, before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request. Exactly one of ``json`` and ``form`` is set.

    ``form`` values are already strings (nested JSON is encoded by the builder), so the body is
    exactly what Amplitude receives; there is no ``"undefined"`` placeholder anywhere.
    """

    method: str
    url: str
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> bytes:
        """The encoded body, as it goes on the wire."""
        if self.json is not None:
            return orjson.dumps(self.json)
        return urlencode(self.form or {}).encode()

    def content_type(self) -> str:
        return "application/json" if self.json is not None else "application/x-www-form-urlencoded"

    def to_preview(self) -> dict[str, Any]:
        """The public preview form: ``{"method", "url", "json" | "form"}``."""
        out: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.json is not None:
            out["json"] = self.json
        else:
            out["form"] = self.form
        return out
