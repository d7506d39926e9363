"""The records the store returns and takes for configuration, catalogs and stats.

Plain frozen dataclasses with their camelCase JSON shapes: every role of the store
(:mod:`tidings.storage.roles`) speaks in these, whichever backend implements it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

CampaignState = Literal["Draft", "Active", "Cancel"]
CAMPAIGN_STATES: tuple[CampaignState, ...] = ("Draft", "Active", "Cancel")

PropertyType = Literal["string", "number", "boolean", "mixed"]


class StoreError(Exception):
    """A storage operation failed for a reason the caller cannot fix by changing its input."""


class StoreUnavailable(StoreError):
    """The database cannot serve right now: the connection is lost or refused, the disk is full,
    the file system is read-only, a lock wait timed out. Nothing of the failed call was stored;
    the same call may succeed later, so the server answers 503 with ``Retry-After``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class OpenError(StoreError):
    """The database a URL names cannot be opened: unreachable, misnamed, missing (when it may not
    be created), or sealed with another server key. The message is one line that names the
    database without its password, so a command can print it as it is."""


class DatabaseMissing(OpenError):
    """No SQLite database exists at the path, and the caller asked not to create one."""


class ServerKeyMismatch(OpenError):
    """The server key at hand is not the one the database's API secrets are sealed with."""


class NotFoundError(StoreError, LookupError):
    """The addressed entity (project, app, campaign, key, cohort) does not exist."""

    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} not found")


class VersionConflict(StoreError):
    """A write expected a version of a campaign that is no longer the stored one: someone else
    saved it in between. ``current`` is what is stored now."""

    def __init__(self, current: StoredCampaign) -> None:
        self.current = current
        super().__init__(f"campaign {current.id!r} changed (now version {current.version})")


# --------------------------------------------------------------------------- settings, projects


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """Per-project knobs; most are served in the config manifest (docs/spec/http-api.md).

    ``frequency_capping`` is the project-wide cap ``{"perSession": n, "perDay": n}`` of
    docs/spec/campaigns.md, or ``None`` when the project sets none. ``deep_link_schemes`` lists
    the URL schemes campaign deep links may use (``None``: any but the blocked ones); it is
    checked when a campaign is saved or started, so it stays out of the manifest.
    ``aws_account_id`` is the ``awsAccountId`` of the project's campaign stream records
    (docs/spec/stream.md); ``None`` means the project id.
    """

    session_timeout_seconds: int = 60
    frequency_capping: Mapping[str, int] | None = None
    config_refresh_seconds: int = 300
    deep_link_schemes: tuple[str, ...] | None = None
    aws_account_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The camelCase JSON shape the admin API speaks (and the store keeps);
        ``awsAccountId`` only when set."""
        out = {
            **self.device_json(),
            "deepLinkSchemes": list(self.deep_link_schemes)
            if self.deep_link_schemes is not None
            else None,
        }
        if self.aws_account_id is not None:
            out["awsAccountId"] = self.aws_account_id
        return out

    def device_json(self) -> dict[str, Any]:
        """The settings a device needs, as the config manifest carries them."""
        return {
            "sessionTimeoutSeconds": self.session_timeout_seconds,
            "frequencyCapping": dict(self.frequency_capping)
            if self.frequency_capping is not None
            else None,
            "configRefreshSeconds": self.config_refresh_seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProjectConfig:
        """Build from the camelCase JSON shape; missing keys keep their defaults.

        Validation of user input belongs to the caller; this only maps names.
        """
        base = cls()
        capping = data.get("frequencyCapping", base.frequency_capping)
        schemes = data.get("deepLinkSchemes")
        return cls(
            session_timeout_seconds=int(
                data.get("sessionTimeoutSeconds", base.session_timeout_seconds)
            ),
            frequency_capping=dict(capping) if capping is not None else None,
            config_refresh_seconds=int(
                data.get("configRefreshSeconds", base.config_refresh_seconds)
            ),
            deep_link_schemes=tuple(schemes) if schemes is not None else None,
            aws_account_id=data.get("awsAccountId") or None,
        )

    def merged(self, patch: Mapping[str, Any]) -> ProjectConfig:
        """These settings with the camelCase keys of ``patch`` replaced (for PATCH)."""
        return ProjectConfig.from_json({**self.to_json(), **patch})


@dataclass(frozen=True, slots=True)
class Project:
    """A project groups applications that share settings, cohorts and a data import key.

    ``data_import_key`` is only filled in by ``create_project`` and ``rotate_data_import_key``
    (:class:`~tidings.storage.roles.ConfigStore`): the store keeps a hash, so it cannot be
    shown again. ``import_key_active`` is false once the key was revoked (and until a new one is
    made).
    """

    id: str
    name: str
    settings: ProjectConfig
    created_at: int
    data_import_key: str | None = None
    import_key_active: bool = True

    @property
    def aws_account_id(self) -> str:
        """The ``awsAccountId`` of the project's campaign records: the setting, else the id."""
        return self.settings.aws_account_id or self.id


@dataclass(frozen=True, slots=True)
class Application:
    """One app (one platform build) of a project; events and campaigns belong to an app."""

    id: str
    project_id: str
    name: str
    platform: str
    created_at: int


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """What creating an app returns; the secrets in it are shown exactly once."""

    app_id: str
    api_key_public: str
    api_key_secret: str
    write_key: str

    def to_json(self) -> dict[str, str]:
        """``{"appId", "apiKeyPublic", "apiKeySecret", "writeKey"}`` as the API returns it."""
        return {
            "appId": self.app_id,
            "apiKeyPublic": self.api_key_public,
            "apiKeySecret": self.api_key_secret,
            "writeKey": self.write_key,
        }


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A freshly made API key pair (the secret is shown once)."""

    app_id: str
    api_key_public: str
    api_key_secret: str

    def to_json(self) -> dict[str, str]:
        """``{"appId", "apiKeyPublic", "apiKeySecret"}``."""
        return {
            "appId": self.app_id,
            "apiKeyPublic": self.api_key_public,
            "apiKeySecret": self.api_key_secret,
        }


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key pair as listed later: never with its secret."""

    app_id: str
    api_key_public: str
    created_at: int
    revoked_at: int | None

    @property
    def active(self) -> bool:
        """A key works until it is revoked."""
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class SigningKey:
    """What the server needs to verify ``X-Signature``: the app and the decrypted secret."""

    app_id: str
    project_id: str
    api_key_public: str
    secret: bytes


# --------------------------------------------------------------------------- campaigns, cohorts


@dataclass(frozen=True, slots=True)
class StoredCampaign:
    """A stored campaign. ``body`` is the campaign JSON including ``id``, ``state`` and
    ``createdAt`` (kept in sync with the columns by the store)."""

    id: str
    app_id: str
    state: CampaignState
    created_at: int
    updated_at: int
    body: Mapping[str, Any]

    @property
    def version(self) -> str:
        """A digest of the stored body (state included): the campaign's ETag. Any change to
        what is stored changes it, however close in time two writes are."""
        canonical = orjson.dumps(self.body, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Cohort:
    """An imported cohort (Braze-style partner API) of one project."""

    id: str
    project_id: str
    name: str
    created_at: int
    member_count: int

    @property
    def display_name(self) -> str:
        """How the dashboard shows it: ``[Amplitude] NAME: cohort_id``."""
        return f"[Amplitude] {self.name}: {self.id}"


@dataclass(frozen=True, slots=True)
class CohortChange:
    """One ``cohort_changes`` item: ids to add, or to remove when ``should_remove``."""

    user_ids: Sequence[str] = ()
    device_ids: Sequence[str] = ()
    should_remove: bool = False


# --------------------------------------------------------------------------- catalogs and stats


@dataclass(frozen=True, slots=True)
class EventCatalogEntry:
    """One row of the events catalog; ``last_seen`` is the newest event timestamp (ms) or
    ``None`` for a system event never received."""

    name: str
    type: str
    count: int
    last_seen: int | None

    def to_json(self) -> dict[str, Any]:
        """``{name, type, count, lastSeen}``."""
        return {
            "name": self.name,
            "type": self.type,
            "count": self.count,
            "lastSeen": self.last_seen,
        }


@dataclass(frozen=True, slots=True)
class PropertyCatalogEntry:
    """A custom-property key and its inferred type (``mixed`` once two types were seen)."""

    key: str
    type: PropertyType

    def to_json(self) -> dict[str, str]:
        """``{key, type}``."""
        return {"key": self.key, "type": self.type}


@dataclass(frozen=True, slots=True)
class DayStats:
    """Campaign counters of one UTC day (``YYYY-MM-DD``, from the decision/event timestamp)."""

    day: str
    decisions: Mapping[str, int]
    shown: int
    resolved: Mapping[str, int]
    unavailable_reasons: Mapping[str, int]

    def to_json(self) -> dict[str, Any]:
        """camelCase JSON."""
        return {
            "day": self.day,
            "decisions": dict(self.decisions),
            "shown": self.shown,
            "resolved": dict(self.resolved),
            "unavailableReasons": dict(self.unavailable_reasons),
        }


@dataclass(frozen=True, slots=True)
class CampaignStats:
    """Totals and per-day counters of one campaign, counted exactly once per stored item."""

    campaign_id: str
    decisions: Mapping[str, int]
    shown: int
    resolved: Mapping[str, int]
    unavailable_reasons: Mapping[str, int]
    by_day: Sequence[DayStats]

    def to_json(self) -> dict[str, Any]:
        """The shape of ``GET /admin/api/campaigns/{id}/stats``."""
        return {
            "decisions": dict(self.decisions),
            "shown": self.shown,
            "resolved": dict(self.resolved),
            "unavailableReasons": dict(self.unavailable_reasons),
            "byDay": [d.to_json() for d in self.by_day],
        }


@dataclass(frozen=True, slots=True)
class Document:
    """A small JSON document in a named collection (destinations, stream sinks, dead letters...),
    for layers above that need durable configuration without a schema of their own."""

    collection: str
    id: str
    body: Mapping[str, Any]
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Tuning shared by both backends (defaults suit a server)."""

    max_group: int = 256
    """At most this many queued writes are committed together."""
    read_threads: int = 4
    """SQLite reader threads / PostgreSQL read connections."""
