"""The ``tidings simulate`` scenario format (docs/spec/simulate.md): parsing and validation.

Parsing is separate from running so that a malformed scenario is rejected as a whole, with the
JSON path of the first bad field, before anything is printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tidings.core.errors import InvalidEvent, InvalidScenario
from tidings.core.events import RESOLVED_RESULTS, UNAVAILABLE_REASONS
from tidings.core.profile import DeviceProfile
from tidings.core.timeparse import parse_instant, parse_offset

STEP_KINDS = (
    "launch",
    "track",
    "set_property",
    "set_properties",
    "remove_property",
    "clear_properties",
    "set_user_id",
    "background",
    "foreground",
    "resolve",
    "terminate",
    "server_event",
)
SERVER_SOURCES = ("segment",)

_DEVICE_STRINGS = {
    "deviceId": "device_id",
    "platform": "platform",
    "osVersion": "os_version",
    "appVersion": "app_version",
    "appInstallVersion": "app_install_version",
    "country": "country",
    "timezone": "timezone",
    "application": "application",
}
DEFAULT_DEVICE_ID = "simulated-device"


@dataclass(frozen=True, slots=True)
class Step:
    """One scripted step: what to do, at which epoch ms, with its arguments."""

    index: int
    at: int
    do: str
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"steps[{self.index}]"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A parsed scenario. ``campaigns`` and ``project`` stay raw JSON for the campaign model."""

    device: DeviceProfile
    steps: tuple[Step, ...]
    campaigns: tuple[Mapping[str, Any], ...] = ()
    project: Mapping[str, Any] = field(default_factory=dict)
    cohorts: frozenset[str] = frozenset()
    session_timeout_ms: int = 60_000


def _fail(path: str, reason: str) -> InvalidScenario:
    return InvalidScenario(path, reason)


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, "must be an object")
    return value


def _string(args: Mapping[str, Any], key: str, path: str, *, nullable: bool = False) -> Any:
    if key not in args:
        raise _fail(f"{path}.{key}", "is required")
    value = args[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(
            f"{path}.{key}", "must be a non-empty string" + (" or null" if nullable else "")
        )
    return value


def parse_device(raw: object) -> DeviceProfile:
    obj = _object(raw, "device")
    values: dict[str, Any] = {}
    for key, attr in _DEVICE_STRINGS.items():
        if key in obj and obj[key] is not None:
            if not isinstance(obj[key], str):
                raise _fail(f"device.{key}", "must be a string")
            values[attr] = obj[key]
    if "timezone" in values:
        _check_timezone_name(values["timezone"])
    install = obj.get("installTime")
    if install is not None:
        if isinstance(install, str):
            ms = parse_instant(install)
            if ms is None:
                raise _fail("device.installTime", "must be an ISO-8601 instant or epoch ms")
            values["install_time"] = ms
        elif isinstance(install, int) and not isinstance(install, bool):
            values["install_time"] = install
        else:
            raise _fail("device.installTime", "must be an ISO-8601 instant or epoch ms")
    values.setdefault("device_id", DEFAULT_DEVICE_ID)
    return DeviceProfile(**values)


def _check_timezone_name(name: str) -> None:
    # Shape check only: whether the zone exists is decided where zone data is read.
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        raise _fail("device.timezone", "must be an IANA time zone name such as Europe/Warsaw")


def _parse_step(raw: object, index: int, previous_at: int | None) -> Step:
    path = f"steps[{index}]"
    obj = _object(raw, path)
    do = obj.get("do")
    if do not in STEP_KINDS:
        raise _fail(f"{path}.do", f"must be one of {', '.join(STEP_KINDS)}")
    at_raw = obj.get("at")
    if not isinstance(at_raw, str):
        raise _fail(f"{path}.at", "is required: an ISO-8601 instant or an offset like +5s")
    if at_raw.startswith("+"):
        offset = parse_offset(at_raw)
        if offset is None:
            raise _fail(f"{path}.at", "offset must look like +<n>ms|s|m|h|d")
        if previous_at is None:
            raise _fail(f"{path}.at", "the first step needs an absolute instant")
        at = previous_at + offset
    else:
        instant = parse_instant(at_raw)
        if instant is None:
            raise _fail(f"{path}.at", "must be an ISO-8601 instant with a zone (e.g. ...Z)")
        at = instant
    if previous_at is not None and at < previous_at:
        raise _fail(f"{path}.at", "time may not go backwards")
    _check_args(do, obj, path)
    return Step(index=index, at=at, do=do, args=obj)


def _check_args(do: str, obj: Mapping[str, Any], path: str) -> None:
    """Shape checks that need no device state; value rules are checked when the step runs."""
    if do == "track":
        _string(obj, "name", path)
        if obj.get("properties") is not None:
            _object(obj["properties"], f"{path}.properties")
    elif do in ("set_property", "remove_property"):
        _string(obj, "key", path)
        if do == "set_property" and "value" not in obj:
            raise _fail(f"{path}.value", "is required")
    elif do == "set_properties":
        _object(obj.get("properties"), f"{path}.properties")
    elif do == "set_user_id":
        _string(obj, "userId", path, nullable=True)
    elif do == "server_event":
        if obj.get("source") not in SERVER_SOURCES:
            raise _fail(f"{path}.source", f"must be one of {', '.join(SERVER_SOURCES)}")
        _object(obj.get("message"), f"{path}.message")
    elif do == "resolve":
        _string(obj, "campaignId", path)
        result = obj.get("result")
        if result not in RESOLVED_RESULTS:
            raise _fail(f"{path}.result", f"must be one of {', '.join(RESOLVED_RESULTS)}")
        reason = obj.get("unavailableReason")
        if result == "Unavailable" and reason not in UNAVAILABLE_REASONS:
            raise _fail(
                f"{path}.unavailableReason", f"must be one of {', '.join(UNAVAILABLE_REASONS)}"
            )
        if result != "Unavailable" and reason is not None:
            raise _fail(f"{path}.unavailableReason", "is allowed only with result Unavailable")


def _or_empty(value: object) -> object:
    return {} if value is None else value


def parse_scenario(raw: object) -> Scenario:
    """Validate a scenario document and return it parsed; raises :class:`InvalidScenario`."""
    obj = _object(raw, "")
    campaigns = obj.get("campaigns", [])
    if not isinstance(campaigns, list):
        raise _fail("campaigns", "must be a list of campaign objects")
    for i, c in enumerate(campaigns):
        _object(c, f"campaigns[{i}]")
    project = _object(_or_empty(obj.get("project")), "project")
    device = parse_device(_or_empty(obj.get("device")))
    cohorts_raw = obj.get("cohorts", [])
    if not isinstance(cohorts_raw, list):
        raise _fail("cohorts", "must be a list of cohort ids")
    for i, c in enumerate(cohorts_raw):
        if not isinstance(c, str) or not c:
            raise _fail(f"cohorts[{i}]", "must be a non-empty string")
    timeout = obj.get("sessionTimeoutSeconds", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise _fail("sessionTimeoutSeconds", "must be a number >= 0")
    steps_raw = obj.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise _fail("steps", "must be a non-empty list of steps")
    steps: list[Step] = []
    previous: int | None = None
    for i, raw_step in enumerate(steps_raw):
        step = _parse_step(raw_step, i, previous)
        previous = step.at
        steps.append(step)
    if steps[0].do not in ("launch", "server_event"):
        raise _fail("steps[0].do", "the first step must be launch (or a server_event)")
    return Scenario(
        device=device,
        steps=tuple(steps),
        campaigns=tuple(campaigns),
        project=project,
        cohorts=frozenset(cohorts_raw),
        session_timeout_ms=round(timeout * 1000),
    )


def step_error(step: Step, error: InvalidEvent) -> InvalidScenario:
    """Re-anchor an event validation error at the step that caused it."""
    field_path = f"{step.path}.{error.field}" if error.field else step.path
    return InvalidScenario(field_path, error.reason)
