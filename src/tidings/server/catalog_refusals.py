"""Events refused because their app's events catalog is full, as per-item rejections.

The store decides inside the ingest transaction which events would add a name past the app's
limit (``tidings.storage.catalogs``) and reports their positions among the events it was given;
this module turns those positions back into indices of the request body and into the same
``{index, code, field, message}`` entries as any other rejected item, code ``catalog_full``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CODE = "catalog_full"


def body_indices(total: int, rejected: Iterable[int]) -> list[int]:
    """Body indices of the items that passed validation, in order (``total`` items were sent,
    ``rejected`` are the indices refused by validation)."""
    skip = set(rejected)
    return [i for i in range(total) if i not in skip]


def refusal_message(field: str, name: str, limit: int) -> str:
    """Why an event with a new name was not stored."""
    return (
        f"{field}: new event name {name!r} refused: this app's events catalog is full "
        f"({limit} names); names already in it keep working"
    )


def catalog_full(index: int, field: str, name: str, limit: int) -> dict[str, Any]:
    """The rejection of one event whose new name did not fit in the catalog."""
    return {
        "index": index,
        "code": CODE,
        "field": field,
        "message": refusal_message(field, name, limit),
    }
