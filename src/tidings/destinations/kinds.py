"""The kind registry: every destination kind the pipeline, the server and the CLI can run.

The layers above reach a kind only through here (an import-linter contract holds it), so a new
kind is one module beside the others plus one line in :data:`KINDS`.
"""

from __future__ import annotations

from collections.abc import Mapping

from tidings.destinations.amplitude.kind import AmplitudeKind, CurrentsKind
from tidings.destinations.amplitude.preview import preview as amplitude_preview
from tidings.destinations.kind import DestinationKind
from tidings.destinations.webhook.kind import WebhookKind

KINDS: Mapping[str, DestinationKind] = {
    kind.name: kind for kind in (AmplitudeKind(), CurrentsKind(), WebhookKind())
}
"""Kinds by the name a configuration's ``"kind"`` gives."""


def get_kind(name: object) -> DestinationKind | None:
    """The kind called ``name``, or ``None``."""
    return KINDS.get(name) if isinstance(name, str) else None


__all__ = ["KINDS", "amplitude_preview", "get_kind"]
