"""The one storage interface every backend implements, and the records it returns.

The server is an asyncio (Starlette) application, so every method is ``async``. A backend never
blocks the event loop: both run their single writer on a dedicated thread and their readers on a
small thread pool (``sqlite3`` and psycopg 3 in its synchronous mode), see ``engine.py``.

Three rules shape the interface:

* **One request, one transaction.** :meth:`Store.ingest` writes a request's events, its decisions,
  the catalog/stat updates they imply and the stored response for its request id atomically, so a
  retried request either finds its first response or finds nothing at all.
* **Group commit.** Concurrent writes are queued and committed together (one ``fsync`` for many
  requests); each request still runs inside its own savepoint, so one failing request never takes
  its neighbours down with it.
* **Secrets never sit in plain sight.** Write keys, admin tokens and data import keys are stored as
  SHA-256 digests (they are random 256-bit values, so a fast hash is enough); API secrets must be
  recoverable to verify HMAC signatures, so they are stored encrypted (AES-GCM) with the server key.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

CampaignState = Literal["Draft", "Active", "Cancel"]
CAMPAIGN_STATES: tuple[CampaignState, ...] = ("Draft", "Active", "Cancel")

LogKind = Literal["event", "decision"]
"""An event-log row is either an app event or a campaign decision; both share one sequence."""

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


class NotFoundError(StoreError, LookupError):
    """The addressed entity (project, app, campaign, key, cohort) does not exist."""

    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} not found")


# --------------------------------------------------------------------------- settings, projects


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """Per-project knobs served in the config manifest (docs/spec/http-api.md).

    ``frequency_capping`` is the project-wide cap ``{"perSession": n, "perDay": n}`` of
    docs/spec/campaigns.md, or ``None`` when the project sets none.
    """

    session_timeout_seconds: int = 60
    frequency_capping: Mapping[str, int] | None = None
    config_refresh_seconds: int = 300

    def to_json(self) -> dict[str, Any]:
        """The camelCase JSON shape the HTTP API speaks."""
        return {
            "sessionTimeoutSeconds": self.session_timeout_seconds,
            "frequencyCapping": dict(self.frequency_capping)
            if self.frequency_capping is not None
            else None,
            "configRefreshSeconds": self.config_refresh_seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProjectSettings:
        """Build from the camelCase JSON shape; missing keys keep their defaults.

        Validation of user input belongs to the caller; this only maps names.
        """
        base = cls()
        capping = data.get("frequencyCapping", base.frequency_capping)
        return cls(
            session_timeout_seconds=int(
                data.get("sessionTimeoutSeconds", base.session_timeout_seconds)
            ),
            frequency_capping=dict(capping) if capping is not None else None,
            config_refresh_seconds=int(
                data.get("configRefreshSeconds", base.config_refresh_seconds)
            ),
        )

    def merged(self, patch: Mapping[str, Any]) -> ProjectSettings:
        """These settings with the camelCase keys of ``patch`` replaced (for PATCH)."""
        return ProjectSettings.from_json({**self.to_json(), **patch})


@dataclass(frozen=True, slots=True)
class Project:
    """A project groups applications that share settings, cohorts and a data import key.

    ``data_import_key`` is only filled in by :meth:`Store.create_project` and
    :meth:`Store.rotate_data_import_key`: the store keeps a hash, so it cannot be shown again.
    """

    id: str
    name: str
    settings: ProjectSettings
    created_at: int
    data_import_key: str | None = None


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
class Campaign:
    """A stored campaign. ``body`` is the campaign JSON including ``id``, ``state`` and
    ``createdAt`` (kept in sync with the columns by the store)."""

    id: str
    app_id: str
    state: CampaignState
    created_at: int
    updated_at: int
    body: Mapping[str, Any]


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


# --------------------------------------------------------------------------- the event log


class EventIn(NamedTuple):
    """One validated event to append.

    ``payload`` is the serialised (orjson) record the consumers will read back byte for byte:
    the caller decides what it holds (typically the event plus its device/user context). The other
    fields are the few that get indexed or counted. ``properties`` is read only for
    ``CampaignShown`` / ``CampaignResolved`` (``campaignId``, ``result``, ``unavailableReason``)
    to count campaign stats; pass ``None`` to skip stats for this event.

    A named tuple, not a dataclass: an upload makes one per event, and a tuple is built in a
    fraction of the time a frozen dataclass takes.
    """

    id: str
    name: str
    type: str
    timestamp: int
    payload: bytes
    device_id: str | None = None
    user_id: str | None = None
    properties: Mapping[str, Any] | None = None
    prefix: bytes = b""
    """Leading bytes of the payload shared by many events of one append (an upload's device,
    user and session block): the record reads back as ``prefix + payload``, and the log keeps
    each distinct prefix once per append instead of once per event."""


@dataclass(frozen=True, slots=True)
class DecisionIn:
    """One campaign decision to append (dedup key: app id + decision id)."""

    id: str
    campaign_id: str
    status: str
    timestamp: int
    payload: bytes
    device_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What happened to each item of one ingest call, in input order.

    ``events[i]`` / ``decisions[i]`` is ``True`` when the item was stored now and ``False`` when
    it was a duplicate of an item stored earlier (or earlier in the same call).
    """

    events: Sequence[bool]
    decisions: Sequence[bool]

    @property
    def accepted(self) -> int:
        """How many events were stored by this call."""
        return sum(self.events)

    @property
    def duplicates(self) -> int:
        """How many events were already stored."""
        return len(self.events) - self.accepted

    @property
    def decisions_accepted(self) -> int:
        """How many decisions were stored by this call."""
        return sum(self.decisions)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response stored for a request id, returned verbatim when the request is retried.

    ``request_hash`` identifies the request body it answers (``None`` when it was stored
    without one): a retry must send the same body to be given this response.
    """

    status: int
    body: bytes
    request_hash: bytes | None = None

    def answers(self, request_hash: bytes | None) -> bool:
        """Whether this response is the answer to a request whose body hashes so."""
        return (
            self.request_hash is None or request_hash is None or self.request_hash == request_hash
        )


@dataclass(frozen=True, slots=True)
class IngestResult:
    """Result of :meth:`Store.ingest`.

    When ``replayed`` is true the request id had been processed before: nothing was written,
    ``outcome`` is ``None`` and ``response`` is the first attempt's stored response.
    """

    response: StoredResponse | None
    outcome: IngestOutcome | None
    replayed: bool


RenderResponse = Callable[[IngestOutcome], StoredResponse]
"""Builds the response to store for a request from its outcome. It runs inside the write
transaction (possibly on the writer thread), so it must be quick and must not touch the store."""


class LogRecord(NamedTuple):
    """One row of the event log as consumers read it.

    ``seq`` increases strictly in commit order, so a consumer that has processed everything up
    to ``seq`` never later sees a smaller one appear. ``arrival_ms`` is the server's stamp.
    ``item_id`` is the event id or the decision id; ``name`` is the event name, or for a
    decision its campaign id; ``timestamp`` is the event's (or decision's) own time.

    ``prefix`` is the start of ``payload`` that the other events of its upload (and session)
    share, the same bytes object for all of them in one read (``b""`` when nothing is shared):
    a consumer can do the work that depends on it once per upload.

    A named tuple: consumers read thousands per second, and a tuple is the cheapest record
    Python builds.
    """

    seq: int
    app_id: str
    kind: LogKind
    item_id: str
    name: str
    timestamp: int
    arrival_ms: int
    payload: bytes
    device_id: str | None = None
    user_id: str | None = None
    prefix: bytes = b""


@dataclass(frozen=True, slots=True)
class Document:
    """A small JSON document in a named collection (destinations, stream sinks, dead letters...),
    for layers above that need durable configuration without a schema of their own."""

    collection: str
    id: str
    body: Mapping[str, Any]
    created_at: int
    updated_at: int


# --------------------------------------------------------------------------- the interface


class Store(abc.ABC):
    """Everything Tidings persists. Obtain one with :func:`tidings.storage.open_store`.

    A store is bound to the event loop it was opened on. ``close()`` waits for queued writes;
    ``async with`` closes it too. Methods raise :class:`NotFoundError` for unknown ids where the
    target must exist, and return ``None`` / ``False`` for lookups that may legitimately miss.
    """

    backend: str
    """``"sqlite"`` or ``"postgresql"``."""

    # lifecycle ---------------------------------------------------------------------------------

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush queued writes and release connections and threads."""

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abc.abstractmethod
    async def schema_version(self) -> int:
        """The highest migration applied (migrations run when the store opens)."""

    @abc.abstractmethod
    async def ping(self) -> bool:
        """True when the database answers a trivial query."""

    @abc.abstractmethod
    async def health(self) -> str | None:
        """Why the store cannot serve now, or ``None`` when it can (for ``/healthz``).

        A write that failed because the database refused it makes the store unhealthy until a
        write succeeds; while unhealthy, this tries a small write of its own now and then, so
        the state recovers even when no client is writing.
        """

    # projects -----------------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_project(self, name: str, settings: ProjectSettings | None = None) -> Project:
        """Create a project with a fresh data import key (returned once, stored hashed)."""

    @abc.abstractmethod
    async def get_project(self, project_id: str) -> Project | None:
        """The project, or ``None``."""

    @abc.abstractmethod
    async def get_project_by_name(self, name: str) -> Project | None:
        """The oldest project with this name, or ``None`` (used by the CLI's ``--project``)."""

    @abc.abstractmethod
    async def list_projects(self) -> list[Project]:
        """All projects, oldest first."""

    @abc.abstractmethod
    async def update_project_settings(self, project_id: str, settings: ProjectSettings) -> Project:
        """Replace the settings (merge a PATCH with :meth:`ProjectSettings.merged` first)."""

    @abc.abstractmethod
    async def rotate_data_import_key(self, project_id: str) -> str:
        """Make a new data import key, invalidating the old one; returns it once."""

    @abc.abstractmethod
    async def project_for_import_key(self, data_import_key: str) -> Project | None:
        """The project whose data import key this is (cohort import auth), or ``None``."""

    # applications and keys ----------------------------------------------------------------------

    @abc.abstractmethod
    async def create_app(self, project_id: str, name: str, platform: str) -> AppCredentials:
        """Create an app with one API key pair and one write key; the secrets are shown once."""

    @abc.abstractmethod
    async def get_app(self, app_id: str) -> Application | None:
        """The app, or ``None``."""

    @abc.abstractmethod
    async def list_apps(self, project_id: str | None = None) -> list[Application]:
        """Apps of one project (or all), oldest first."""

    @abc.abstractmethod
    async def rotate_keys(self, app_id: str) -> KeyPair:
        """Add a new API key pair. Older pairs keep working until revoked, so devices in the
        field can move over without an outage."""

    @abc.abstractmethod
    async def revoke_key(self, app_id: str, api_key_public: str) -> bool:
        """Revoke one pair of this app; False when no such active pair exists."""

    @abc.abstractmethod
    async def list_keys(self, app_id: str) -> list[ApiKeyInfo]:
        """The app's key pairs (revoked ones included), oldest first, without secrets."""

    @abc.abstractmethod
    async def signing_key(self, api_key_public: str) -> SigningKey | None:
        """The decrypted secret of an active key pair, or ``None`` (unknown or revoked)."""

    @abc.abstractmethod
    async def rotate_write_key(self, app_id: str) -> str:
        """Add a new write key for the app (older ones keep working until revoked)."""

    @abc.abstractmethod
    async def revoke_write_key(self, app_id: str, write_key: str) -> bool:
        """Revoke a write key; False when it is not an active key of that app."""

    @abc.abstractmethod
    async def app_for_write_key(self, write_key: str) -> Application | None:
        """The app an active write key belongs to, or ``None``."""

    # admin tokens -------------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_admin_token(self, label: str = "") -> str:
        """Make an admin token; it is returned once and stored as a hash."""

    @abc.abstractmethod
    async def verify_admin_token(self, token: str) -> bool:
        """True when the token is known and not revoked."""

    @abc.abstractmethod
    async def revoke_admin_token(self, token: str) -> bool:
        """Revoke a token; False when it was not active."""

    # campaigns ----------------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_campaign(
        self, app_id: str, body: Mapping[str, Any], state: CampaignState = "Draft"
    ) -> Campaign:
        """Store a validated campaign. The store assigns ``id`` (unless ``body`` has one that is
        not taken) and ``createdAt``; ``state`` wins over any ``state`` in ``body``."""

    @abc.abstractmethod
    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign, or ``None``."""

    @abc.abstractmethod
    async def list_campaigns(
        self, app_id: str, state: CampaignState | None = None
    ) -> list[Campaign]:
        """The app's campaigns (optionally of one state), oldest first."""

    @abc.abstractmethod
    async def replace_campaign(self, campaign_id: str, body: Mapping[str, Any]) -> Campaign:
        """Replace the body; ``id``, ``state`` and ``createdAt`` are kept from the stored one."""

    @abc.abstractmethod
    async def set_campaign_state(self, campaign_id: str, state: CampaignState) -> Campaign:
        """Set the state. Transition rules (Draft → Active → Cancel → Active) are the caller's."""

    @abc.abstractmethod
    async def delete_campaign(self, campaign_id: str) -> bool:
        """Delete; False when it did not exist. Which states may be deleted is the caller's."""

    @abc.abstractmethod
    async def project_campaign_ids(self, project_id: str, campaign_ids: Iterable[str]) -> set[str]:
        """Those of ``campaign_ids`` that are campaigns of an app of the project."""

    @abc.abstractmethod
    async def config_revision(self, app_id: str) -> int:
        """A number that grows whenever anything in the app's config manifest may have changed
        (its campaigns, its project's settings, its project's cohorts): cheap ETag material."""

    # cohorts ------------------------------------------------------------------------------------

    @abc.abstractmethod
    async def upsert_cohort(
        self, project_id: str, cohort_id: str, name: str, created_at: int | None = None
    ) -> Cohort:
        """Create the cohort or rename it."""

    @abc.abstractmethod
    async def apply_cohort_changes(
        self, project_id: str, cohort_id: str, changes: Sequence[CohortChange]
    ) -> Cohort:
        """Add/remove members in one transaction, in order. Unknown ids are simply remembered.
        Raises :class:`NotFoundError` for an unknown cohort."""

    @abc.abstractmethod
    async def list_cohorts(self, project_id: str | None = None) -> list[Cohort]:
        """Cohorts with member counts, oldest first."""

    @abc.abstractmethod
    async def cohorts_for(
        self, project_id: str, user_id: str | None, device_id: str | None
    ) -> list[str]:
        """Ids of the project's cohorts the user id or the device id is a member of, sorted."""

    # the event log ------------------------------------------------------------------------------

    @abc.abstractmethod
    async def ingest(
        self,
        app_id: str,
        events: Sequence[EventIn],
        decisions: Sequence[DecisionIn] = (),
        *,
        arrival_ms: int,
        request_id: str | None = None,
        render: RenderResponse | None = None,
        custom_properties: Mapping[str, Any] | None = None,
        request_hash: bytes | None = None,
    ) -> IngestResult:
        """Append one request's events and decisions in a single transaction.

        Deduplicates on (app, event id) and (app, decision id); updates the events catalog, the
        custom-property catalog (from ``custom_properties``, the user's current map) and campaign
        stats for newly stored items only, so counts are exact under retries.

        With ``request_id``: if that id was already processed for this app, nothing is written
        and the stored response is returned (``replayed=True``); otherwise ``render`` (required
        then) builds the response, which is stored in the same transaction, with
        ``request_hash`` (the request body's hash, for :meth:`StoredResponse.answers`). The
        call returns only once the transaction is durable.
        """

    @abc.abstractmethod
    async def stored_response(self, app_id: str, request_id: str) -> StoredResponse | None:
        """The response stored for a processed request id, or ``None``."""

    @abc.abstractmethod
    async def prune_responses(self, older_than_ms: int) -> int:
        """Forget stored responses created before ``older_than_ms``; returns how many."""

    @abc.abstractmethod
    async def last_seq(self) -> int:
        """The highest committed sequence number (0 for an empty log)."""

    async def wait_for_append(self, after_seq: int, timeout: float) -> bool:
        """Wait until the log holds a record with ``seq > after_seq``, at most ``timeout``
        seconds; returns whether it does. Consumers call this instead of polling in a loop.

        Appends made through this store object wake waiters at once; appends by other
        processes are noticed by a poll every ``poll_interval`` seconds (backends may do better).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if await self.last_seq() > after_seq:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await self._append_signal(min(remaining, self.poll_interval))

    poll_interval: float = 0.5
    """Seconds between checks for appends made by other processes."""

    async def _append_signal(self, timeout: float) -> None:
        """Return after ``timeout`` seconds or earlier when this store appended something."""
        await asyncio.sleep(timeout)

    @abc.abstractmethod
    async def read_log(self, after_seq: int, limit: int = 1000) -> list[LogRecord]:
        """Up to ``limit`` records with ``seq > after_seq``, in sequence order."""

    @abc.abstractmethod
    async def read_time_range(
        self,
        app_id: str,
        from_ms: int,
        to_ms: int,
        *,
        after_seq: int = 0,
        limit: int = 1000,
        kind: LogKind | None = None,
    ) -> list[LogRecord]:
        """Records of one app whose ``timestamp`` is in ``[from_ms, to_ms)`` (for replay), in
        sequence order; page with ``after_seq`` = the last ``seq`` returned."""

    @abc.abstractmethod
    async def recent_events(self, app_id: str, limit: int = 50) -> list[LogRecord]:
        """The newest stored events (kind ``event``) of an app, newest first."""

    # consumer cursors ---------------------------------------------------------------------------

    @abc.abstractmethod
    async def read_after(self, cursor: str, limit: int = 1000) -> list[LogRecord]:
        """Records after the cursor's committed position (0 for a new cursor).

        At-least-once: reading does not move the cursor, so records are returned again until
        :meth:`commit_cursor` moves past them (also after a crash or a reopen).
        """

    @abc.abstractmethod
    async def commit_cursor(self, cursor: str, seq: int) -> None:
        """Durably record that everything up to ``seq`` is processed. Never moves backwards."""

    @abc.abstractmethod
    async def reset_cursor(self, cursor: str, seq: int) -> None:
        """Move a cursor to ``seq`` in either direction (replay)."""

    @abc.abstractmethod
    async def get_cursor(self, cursor: str) -> int:
        """The cursor's committed position (0 when it never committed)."""

    @abc.abstractmethod
    async def list_cursors(self) -> dict[str, int]:
        """Every cursor and its position."""

    # catalogs and stats -------------------------------------------------------------------------

    @abc.abstractmethod
    async def event_catalog(self, app_id: str) -> list[EventCatalogEntry]:
        """Events seen for the app, plus every system event (count 0 when never seen), sorted by
        type then name."""

    @abc.abstractmethod
    async def property_catalog(self, app_id: str) -> list[PropertyCatalogEntry]:
        """Custom-property keys seen for the app with their inferred type, sorted by key."""

    @abc.abstractmethod
    async def campaign_stats(self, campaign_id: str) -> CampaignStats:
        """Counters of one campaign (all zero when nothing was recorded)."""

    # documents ----------------------------------------------------------------------------------

    @abc.abstractmethod
    async def put_document(self, collection: str, doc_id: str, body: Mapping[str, Any]) -> Document:
        """Create or replace a document."""

    @abc.abstractmethod
    async def get_document(self, collection: str, doc_id: str) -> Document | None:
        """The document, or ``None``."""

    @abc.abstractmethod
    async def list_documents(self, collection: str) -> list[Document]:
        """All documents of a collection, oldest first."""

    @abc.abstractmethod
    async def delete_document(self, collection: str, doc_id: str) -> bool:
        """Delete; False when it did not exist."""


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Tuning shared by both backends (defaults suit a server)."""

    max_group: int = 256
    """At most this many queued writes are committed together."""
    read_threads: int = 4
    """SQLite reader threads / PostgreSQL read connections."""
