"""Deterministic holdout and treatment assignment (MurmurHash3 x86 32-bit, seed 0, unsigned).

The same user always lands in the same bucket of a campaign, on every device and on the server,
so holdout groups and A/B arms are stable without storing any assignment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mmh3

from tidings.core.campaigns import reader as r
from tidings.core.campaigns.server import SERVER_TYPES, parse_server_content


@dataclass(frozen=True, slots=True)
class Treatment:
    """One A/B arm: ``size_percent`` of users; ``content`` overrides the campaign content."""

    id: str
    size_percent: float
    content: Mapping[str, Any] | None


def murmur3_32(text: str) -> int:
    return mmh3.hash(text.encode("utf-8"), 0, signed=False)


def holdout_bucket(campaign_id: str, user_key: str) -> int:
    """0..9999; the user is held out when it is below ``holdoutPercent * 100``."""
    return murmur3_32(f"{campaign_id}/{user_key}") % 10000


def in_holdout(campaign_id: str, user_key: str, holdout_percent: float) -> bool:
    return holdout_bucket(campaign_id, user_key) < holdout_percent * 100


def pick_treatment(
    campaign_id: str, user_key: str, treatments: tuple[Treatment, ...]
) -> Treatment | None:
    """Walk the cumulative ``sizePercent`` with ``murmur3_32("{id}/treatment/{user}") % 100``."""
    if not treatments:
        return None
    bucket = murmur3_32(f"{campaign_id}/treatment/{user_key}") % 100
    cumulative = 0.0
    for treatment in treatments:
        cumulative += treatment.size_percent
        if bucket < cumulative:
            return treatment
    return treatments[-1]


def parse_treatments(raw: object, path: str, campaign_type: str) -> tuple[Treatment, ...]:
    """Every treatment is checked on its own; the sizes must then add up to 100."""
    items = r.arr(raw, path)
    if not items:
        r.fail(path, "must be a non-empty array when present")
    problems = r.Problems()
    out: list[Treatment] = []
    seen: set[str] = set()
    for i, value in enumerate(items):
        item_path = f"{path}[{i}]"
        treatment = problems.attempt(_treatment, value, item_path, campaign_type)
        if treatment is None:
            continue
        if treatment.id in seen:
            problems.attempt(
                r.fail, r.join(item_path, "id"), f"duplicate treatment id {treatment.id!r}"
            )
        seen.add(treatment.id)
        out.append(treatment)
    problems.raise_first()
    total = sum(t.size_percent for t in out)
    if abs(total - 100) > 1e-9:
        r.fail(path, f"sizePercent values must sum to 100 (got {total:g})")
    return tuple(out)


def _treatment(value: object, path: str, campaign_type: str) -> Treatment:
    item = r.obj(value, path)
    raw_id = item.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    problems = r.Problems()  # the id and the size are reported together
    if not isinstance(raw_id, str) or not raw_id:
        problems.attempt(
            r.fail, r.join(path, "id"), r.required_or("must be a non-empty string", raw_id)
        )
    size = problems.attempt(r.number, item, "sizePercent", path)
    if size is not None and not 0 <= size <= 100:
        problems.attempt(r.fail, r.join(path, "sizePercent"), "must be between 0 and 100")
    problems.raise_first()
    assert isinstance(raw_id, str) and size is not None
    content = r.opt_obj(item, "content", path)
    if content is not None and campaign_type in SERVER_TYPES:
        parse_server_content(content, f"{path}.content")
    if content is not None and campaign_type == "DeepLink":
        url = content.get("url")
        if not isinstance(url, str) or not url:
            r.fail(f"{path}.content.url", r.required_or("must be a non-empty string", url))
    return Treatment(raw_id, size, content)
