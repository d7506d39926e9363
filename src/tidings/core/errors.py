"""One error hierarchy for the whole project.

Every error caused by bad input says *what* was wrong and *where* (a field path such as
``properties["price"]`` or ``triggering.repeat.repeatValue[0]``), so callers can show it next to
the offending field instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class TidingsError(Exception):
    """Root of every error Tidings raises on purpose."""


class InvalidInput(TidingsError, ValueError):
    """Bad input, with the path of the offending field.

    ``field`` is the path (``""`` when the whole value is wrong) and ``reason`` the rule it broke;
    ``str(error)`` is ``"<field>: <reason>"`` so a message always names the field.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


class InvalidEvent(InvalidInput):
    """An event name or property map breaks the rules of docs/spec/events.md."""


class InvalidCampaign(InvalidInput):
    """A campaign definition is malformed; ``field`` is its JSON path.

    ``field`` and ``reason`` describe the first problem; ``errors`` lists every problem found in
    the same pass (the first included), so an editor or a CLI can show all of them at once.
    """

    def __init__(self, field: str, reason: str, errors: Sequence[InvalidCampaign] = ()) -> None:
        super().__init__(field, reason)
        self.errors: tuple[InvalidCampaign, ...] = tuple(errors) or (self,)


class InvalidScenario(InvalidInput):
    """A ``tidings simulate`` scenario is malformed; ``field`` is its JSON path."""


class InvalidConfig(InvalidInput):
    """Client configuration is missing or malformed (code ``AMP_INVALID_CONFIG``)."""

    code = "AMP_INVALID_CONFIG"
