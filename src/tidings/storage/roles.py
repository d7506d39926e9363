"""What the store does, as a few roles: the protocols every layer above storage depends on.

Each role is a small protocol: :class:`ConfigStore` (projects, apps, keys, tokens, campaigns,
cohorts and configuration documents such as destinations and stream sinks), :class:`EventLog`
(append, read by sequence or time, recent), :class:`Cursors` (named positions in the log),
:class:`Leases` (one process at a time per named piece of work, and cursor commits fenced by
them), :class:`Outbox` and :class:`DeadLetters` (what a destination still owes, and what it gave
up on), :class:`Stats` (catalogs and campaign counters), :class:`Attribution` (campaign
conversions), :class:`IdentityStates` (what the server-campaign consumer remembers per
person) and :class:`Profiles` (last-known device profiles for audience estimates).
:class:`Store` is all of them plus a lifecycle; ``SqlStore`` (SQLite, PostgreSQL) and
``MemoryStore`` implement it.

The pipeline, the destinations and the streams are written against these protocols only; which
backend serves them (and how: SQL, in memory, a JetStream log beside SQL configuration) is the
storage layer's business. Three rules every implementation keeps:

* **One request, one transaction.** :meth:`EventLog.ingest` writes a request's events, its
  decisions, the catalog/stat updates they imply and the stored response for its request id
  atomically, so a retried request either finds its first response or finds nothing at all.
* **Cursor commits are fenced.** :meth:`Leases.commit_cursor_leased` checks the lease and moves
  the cursor in one step: a process that lost its lease cannot move the cursor behind the new
  holder's back.
* **Per-key order in the outbox.** :meth:`Outbox.due` never returns a row while an earlier row
  with the same order key waits for a later time.

Every method is ``async``; methods raise :class:`~tidings.storage.records.NotFoundError` for
unknown ids where the target must exist, and return ``None`` / ``False`` for lookups that may
legitimately miss.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from tidings.core.campaigns import Exposure
from tidings.core.campaigns.results import ConversionRow, ExposureRow
from tidings.storage.attribution import AttributionOutcome, ConversionIn
from tidings.storage.catalogs import CatalogLimits
from tidings.storage.deliveryrecords import (
    DeadLetter,
    DeadLetterIn,
    Lease,
    OutboxItem,
    OutboxRow,
    Settle,
)
from tidings.storage.identitystates import IdentityCommit
from tidings.storage.logrecords import (
    Counted,
    DecisionIn,
    EventIn,
    IngestResult,
    LogKind,
    LogRecord,
    RenderResponse,
    StoredResponse,
)
from tidings.storage.paging import After
from tidings.storage.profilerecords import DeviceProfileRecord, ProfileCounts, ProfileUpdate
from tidings.storage.records import (
    ApiKeyInfo,
    AppCredentials,
    Application,
    CampaignState,
    CampaignStats,
    Cohort,
    CohortChange,
    Document,
    EventCatalogEntry,
    KeyPair,
    Project,
    ProjectConfig,
    PropertyCatalogEntry,
    SigningKey,
    StoredCampaign,
)
from tidings.storage.tokens import AdminToken, IssuedAdminToken


class ConfigStore(Protocol):
    """Projects, apps and their keys, admin tokens, campaigns, cohorts, and configuration
    documents (destinations, stream sinks, replay requests...)."""

    async def create_project(self, name: str, settings: ProjectConfig | None = None) -> Project:
        """Create a project with a fresh data import key (returned once, stored hashed)."""

    async def get_project(self, project_id: str) -> Project | None:
        """The project, or ``None``."""

    async def get_project_by_name(self, name: str) -> Project | None:
        """The oldest project with this name, or ``None`` (used by the CLI's ``--project``)."""

    async def list_projects(
        self,
        *,
        ids: Sequence[str] | None = None,
        after: After = None,
        limit: int | None = None,
    ) -> list[Project]:
        """Projects (those of ``ids`` only, when given), oldest first, paged by
        ``(created_at, id)``."""

    async def update_project_settings(self, project_id: str, settings: ProjectConfig) -> Project:
        """Replace the settings (merge a PATCH with :meth:`ProjectConfig.merged` first)."""

    async def rotate_data_import_key(self, project_id: str) -> str:
        """Make a new data import key, invalidating the old one; returns it once."""

    async def revoke_data_import_key(self, project_id: str) -> bool:
        """Invalidate the data import key without making a new one; False when there was
        none active."""

    async def project_for_import_key(self, data_import_key: str) -> Project | None:
        """The project whose data import key this is (cohort import auth), or ``None``."""

    async def create_app(self, project_id: str, name: str, platform: str) -> AppCredentials:
        """Create an app with one API key pair and one write key; the secrets are shown once."""

    async def get_app(self, app_id: str) -> Application | None:
        """The app, or ``None``."""

    async def list_apps(
        self, project_id: str | None = None, *, after: After = None, limit: int | None = None
    ) -> list[Application]:
        """Apps of one project (or all), oldest first, paged by ``(created_at, id)``."""

    async def rotate_keys(self, app_id: str) -> KeyPair:
        """Add a new API key pair. Older pairs keep working until revoked, so devices in the
        field can move over without an outage."""

    async def revoke_key(self, app_id: str, api_key_public: str) -> bool:
        """Revoke one pair of this app; False when no such active pair exists."""

    async def list_keys(
        self, app_id: str, *, after: After = None, limit: int | None = None
    ) -> list[ApiKeyInfo]:
        """The app's key pairs (revoked ones included), oldest first, without secrets; paged by
        ``(created_at, api_key_public)``."""

    async def signing_key(self, api_key_public: str) -> SigningKey | None:
        """The decrypted secret of an active key pair, or ``None`` (unknown or revoked)."""

    async def rotate_write_key(self, app_id: str) -> str:
        """Add a new write key for the app (older ones keep working until revoked)."""

    async def revoke_write_key(self, app_id: str, write_key: str) -> bool:
        """Revoke a write key; False when it is not an active key of that app."""

    async def app_for_write_key(self, write_key: str) -> Application | None:
        """The app an active write key belongs to, or ``None``."""

    async def issue_admin_token(
        self,
        name: str = "",
        *,
        expires_at: int | None = None,
        project_ids: Sequence[str] | None = None,
    ) -> IssuedAdminToken:
        """Make an admin token, optionally expiring (epoch ms) and limited to some projects; the
        credential is returned once and stored as a hash. Unknown projects raise
        :class:`~tidings.storage.records.NotFoundError`."""

    async def create_admin_token(self, label: str = "") -> str:
        """Make an unscoped, non-expiring admin token; returns the credential (shown once)."""
        return (await self.issue_admin_token(label)).token

    async def admin_token(self, token: str, at_ms: int | None = None) -> AdminToken | None:
        """The token when it is known, not revoked and not expired at ``at_ms`` (default now),
        else ``None``. Records its last use, at most once a minute per token."""

    async def verify_admin_token(self, token: str) -> bool:
        """True when the token is active now."""
        return await self.admin_token(token) is not None

    async def get_admin_token(self, token_id: str) -> AdminToken | None:
        """A token by id (revoked and expired ones too), or ``None``."""

    async def list_admin_tokens(
        self, *, after: After = None, limit: int | None = None
    ) -> list[AdminToken]:
        """Every token, oldest first, paged by ``(created_at, id)``."""

    async def revoke_admin_token(self, token: str) -> bool:
        """Revoke a token given the credential; False when it was not active."""

    async def revoke_admin_token_id(self, token_id: str) -> bool:
        """Revoke a token by id; False when there is no such unrevoked token."""

    async def create_campaign(
        self, app_id: str, body: Mapping[str, Any], state: CampaignState = "Draft"
    ) -> StoredCampaign:
        """Store a validated campaign. The store assigns ``id`` (unless ``body`` has one that is
        not taken) and ``createdAt``; ``state`` wins over any ``state`` in ``body``."""

    async def get_campaign(self, campaign_id: str) -> StoredCampaign | None:
        """The campaign, or ``None``."""

    async def list_campaigns(
        self,
        app_id: str,
        state: CampaignState | None = None,
        *,
        after: After = None,
        limit: int | None = None,
    ) -> list[StoredCampaign]:
        """The app's campaigns (optionally of one state), oldest first, paged by
        ``(created_at, id)``."""

    async def campaign_counts(self, app_id: str) -> dict[str, int]:
        """How many campaigns the app has in each state (states without any are absent)."""

    async def replace_campaign(
        self, campaign_id: str, body: Mapping[str, Any], *, if_version: str | None = None
    ) -> StoredCampaign:
        """Replace the body; ``id``, ``state`` and ``createdAt`` are kept from the stored one.

        With ``if_version``, only when the stored campaign's :attr:`StoredCampaign.version` is that
        one (checked in the same transaction as the write); else :class:`VersionConflict`."""

    async def set_campaign_state(self, campaign_id: str, state: CampaignState) -> StoredCampaign:
        """Set the state. Transition rules (Draft → Active → Cancel → Active) are the caller's."""

    async def delete_campaign(self, campaign_id: str) -> bool:
        """Delete; False when it did not exist. Which states may be deleted is the caller's."""

    async def project_campaign_ids(self, project_id: str, campaign_ids: Iterable[str]) -> set[str]:
        """Those of ``campaign_ids`` that are campaigns of an app of the project."""

    async def config_revision(self, app_id: str) -> int:
        """A number that grows whenever anything in the app's config manifest may have changed
        (its campaigns, its project's settings, its project's cohorts): cheap ETag material."""

    async def upsert_cohort(
        self, project_id: str, cohort_id: str, name: str, created_at: int | None = None
    ) -> Cohort:
        """Create the cohort or rename it."""

    async def apply_cohort_changes(
        self, project_id: str, cohort_id: str, changes: Sequence[CohortChange]
    ) -> Cohort:
        """Add/remove members in one transaction, in order. Unknown ids are simply remembered.
        Raises :class:`NotFoundError` for an unknown cohort."""

    async def list_cohorts(
        self,
        project_id: str | None = None,
        *,
        project_ids: Sequence[str] | None = None,
        after: After = None,
        limit: int | None = None,
    ) -> list[Cohort]:
        """Cohorts with member counts (of one project, or of ``project_ids``, or all), oldest
        first, paged by ``(created_at, project_id, id)``."""

    async def cohorts_for(
        self, project_id: str, user_id: str | None, device_id: str | None
    ) -> list[str]:
        """Ids of the project's cohorts the user id or the device id is a member of, sorted."""

    async def put_document(self, collection: str, doc_id: str, body: Mapping[str, Any]) -> Document:
        """Create or replace a document."""

    async def get_document(self, collection: str, doc_id: str) -> Document | None:
        """The document, or ``None``."""

    async def list_documents(
        self, collection: str, *, after: After = None, limit: int | None = None
    ) -> list[Document]:
        """Documents of a collection, oldest first, paged by ``(created_at, id)``."""

    async def delete_document(self, collection: str, doc_id: str) -> bool:
        """Delete; False when it did not exist."""


class EventLog(Protocol):
    """The durable, ordered log of events and decisions, with idempotent appends."""

    counts_on_append: bool
    """Whether :meth:`ingest` updates the catalogs and campaign stats itself (a log in the
    database); when false the pipeline's counting consumer does, from the log."""

    partitions: int
    """How many partitions the log has: 1 for a log in the database; a JetStream log splits
    records by device (cursors ``<consumer>@p<n>`` read one partition, see
    :mod:`tidings.core.partitions`)."""

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
        catalog_limits: CatalogLimits | None = None,
        request_hash: bytes | None = None,
    ) -> IngestResult:
        """Append one request's events and decisions in a single transaction.

        Deduplicates on (app, event id) and (app, decision id); updates the events catalog, the
        custom-property catalog (from ``custom_properties``, the user's current map) and campaign
        stats for newly stored items only, so counts are exact under retries.

        The catalogs are bounded by ``catalog_limits`` (default :class:`CatalogLimits`): an
        event whose custom name would be the app's name past the limit is not stored (its index
        is in ``IngestOutcome.refused``); a custom-property key past the limit is not
        catalogued (its values still travel in the events' payloads).

        With ``request_id``: if that id was already processed for this app, nothing is written
        and the stored response is returned (``replayed=True``); otherwise ``render`` (required
        then) builds the response, which is stored in the same transaction, with
        ``request_hash`` (the request body's hash, for :meth:`StoredResponse.answers`). The
        call returns only once the transaction is durable.
        """

    async def stored_response(self, app_id: str, request_id: str) -> StoredResponse | None:
        """The response stored for a processed request id, or ``None``."""

    async def prune_responses(self, older_than_ms: int) -> int:
        """Forget stored responses created before ``older_than_ms``; returns how many."""

    async def last_seq(self) -> int:
        """The highest committed sequence number (0 for an empty log)."""

    async def wait_for_append(self, after_seq: int, timeout: float) -> bool:
        """Wait until the log holds a record with ``seq > after_seq``, at most ``timeout``
        seconds; returns whether it does. Consumers call this instead of polling in a loop.

        Appends made through this store object wake waiters at once; appends by other
        processes within a backend-defined poll interval (or at once, where the backend can tell).
        """

    async def read_log(self, after_seq: int, limit: int = 1000) -> list[LogRecord]:
        """Up to ``limit`` records with ``seq > after_seq``, in sequence order."""

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

    async def recent_events(
        self, app_id: str, limit: int = 50, *, before_seq: int | None = None
    ) -> list[LogRecord]:
        """The newest stored events (kind ``event``) of an app, newest first; with
        ``before_seq`` only those with a smaller ``seq`` (the next page)."""


class Cursors(Protocol):
    """Named positions in the log (one per consumer), committed after a batch is handled."""

    async def read_after(self, cursor: str, limit: int = 1000) -> list[LogRecord]:
        """Records after the cursor's committed position (0 for a new cursor).

        At-least-once: reading does not move the cursor, so records are returned again until
        :meth:`commit_cursor` moves past them (also after a crash or a reopen).
        """

    async def commit_cursor(self, cursor: str, seq: int) -> None:
        """Durably record that everything up to ``seq`` is processed. Never moves backwards."""

    async def reset_cursor(self, cursor: str, seq: int) -> None:
        """Move a cursor to ``seq`` in either direction (replay)."""

    async def get_cursor(self, cursor: str) -> int:
        """The cursor's committed position (0 when it never committed)."""

    async def list_cursors(self) -> dict[str, int]:
        """Every cursor and its position."""

    async def caught_up_to(self, cursor: str) -> int:
        """The sequence up to which the cursor's consumer has seen the log: at least its
        position; later where a cursor reads only part of the log (a partition) and found
        nothing more of it, so a consumer waits for appends past that, not past its position."""
        return await self.get_cursor(cursor)


class Stats(Protocol):
    """Catalogs and campaign counters, kept by the appends that imply them."""

    async def event_catalog(
        self, app_id: str, *, after: After = None, limit: int | None = None
    ) -> list[EventCatalogEntry]:
        """Events seen for the app, plus every system event (count 0 when never seen), sorted by
        type then name; paged by ``(type, name)``."""

    async def property_catalog(
        self, app_id: str, *, after: After = None, limit: int | None = None
    ) -> list[PropertyCatalogEntry]:
        """Custom-property keys seen for the app with their inferred type, sorted by key; paged
        by ``(key,)``."""

    async def catalog_sizes(self, app_id: str) -> tuple[int, int]:
        """How many custom event names and custom-property keys the app's catalogs hold (what
        :class:`CatalogLimits` bounds)."""

    async def campaign_stats(self, campaign_id: str) -> CampaignStats:
        """Counters of one campaign (all zero when nothing was recorded)."""

    async def count_batch(
        self, cursor: str, batch: Sequence[Counted], limits: CatalogLimits | None = None
    ) -> int:
        """For a log whose appends do not count (``counts_on_append`` false): add the counts of
        the items of ``batch`` past ``cursor`` and move ``cursor`` to the batch's end, in one
        step, so a batch handed over twice is counted once; returns how many were counted.

        The catalogs keep within ``limits`` (default :class:`CatalogLimits`) as at ingest: an
        event whose custom name would be new past the limit is not counted, a custom-property
        key past it is not catalogued."""


class Attribution(Protocol):
    """Conversion attribution state: who was exposed to a campaign, and what converted.

    Written by the attribution consumer only; keyed by decision id and by (decision, goal,
    event id), so handing the same batch over again changes nothing.
    """

    async def record_attribution(
        self,
        exposures: Sequence[Exposure],
        conversions: Sequence[ConversionIn],
        *,
        cursor: str | None = None,
        seq: int = 0,
        arrival_ms: int | None = None,
    ) -> AttributionOutcome:
        """Store exposures and conversions, append a ``conversion`` log row for each first
        conversion of a decision and goal, and (with ``cursor``) move that cursor forward to
        ``seq``, in one transaction."""

    async def open_exposures(
        self, app_id: str, identities: Sequence[str], since_ms: int
    ) -> list[Exposure]:
        """The app's exposures of these identities decided at or after ``since_ms``."""

    async def conversion_counts(
        self, campaign_id: str, first_day: str, last_day: str
    ) -> tuple[list[ExposureRow], list[ConversionRow]]:
        """Per UTC day from ``first_day`` to ``last_day`` (``YYYY-MM-DD``, inclusive): exposures
        ``(day, treatment id or None, count)`` and conversions ``(exposure day, treatment id or
        None, goal, first, repeats)``."""


class Leases(Protocol):
    """At most one process at a time works on a named thing (a consumer cursor, a sender).

    A lease is ``(name, holder, expires_at)``: taken when free or expired, renewed by its
    holder, released on a clean stop, and otherwise left to expire so another process can take
    over from the committed cursor.
    """

    async def acquire_lease(self, name: str, holder: str, ttl_ms: int) -> bool:
        """Take or renew ``name`` for ``ttl_ms``; False when another holder's lease is live."""

    async def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up at once (clean shutdown) so another process need not wait it out."""

    async def commit_cursor_leased(self, cursor: str, seq: int, holder: str) -> bool:
        """Move ``cursor`` forward to ``seq`` if ``holder`` still holds the lease named
        ``cursor``, in one step with that check; False (and nothing changed) when it was lost."""

    async def list_leases(self) -> list[Lease]:
        """Every lease (expired ones included), by name."""


class Outbox(Protocol):
    """What each destination still owes: items in enqueue order, per order key.

    **Per-key order.** :meth:`due` never returns a row while an earlier row (smaller ``id``)
    with the same ``order_key`` is still waiting for a later time: a device's later events wait
    while an earlier one is retrying, whatever the jitter of their backoffs.
    """

    async def enqueue(
        self,
        destination_id: str,
        items: Sequence[OutboxItem],
        dead: Sequence[DeadLetterIn] = (),
    ) -> None:
        """Durably add items (due at their ``due_ms``, else now) and dead letters, in one
        transaction; an item whose key is already waiting is ignored."""

    async def due(self, destination_id: str, at_ms: int, limit: int) -> list[OutboxRow]:
        """Rows due at ``at_ms`` in enqueue order, never past an earlier row of the same order
        key that is still waiting."""

    async def waiting_order_keys(self, destination_id: str, limit: int) -> set[str] | None:
        """The order keys with rows waiting, or ``None`` when there are more than ``limit``.

        Events of these keys must queue behind their rows; any other key's events may be sent
        straight away without breaking its order. ``None`` means "too many to list: queue all".
        """

    async def next_due_ms(self, destination_id: str) -> int | None:
        """The earliest ``due_ms`` of the destination's outbox, or ``None`` when it is empty."""

    async def settle(
        self,
        destination_id: str,
        outcomes: Sequence[Settle],
        log: Sequence[tuple[str, DecisionIn]] = (),
    ) -> None:
        """Apply the outcomes of one send in one transaction: delivered rows go, retried rows
        get their due time, attempts and reason, dead ones move to the dead letters.

        ``log`` is ``(app id, decision)`` appended to the event log in the same transaction
        (deduplicated by decision id, counted in stats): what a dead item means for a campaign
        (``CUSTOM_DELIVERY_FAILURE``) is recorded exactly when the item dies."""

    async def outbox_rows(self, destination_id: str, limit: int = 1000) -> list[OutboxRow]:
        """Rows waiting for the destination, in enqueue order (operators, tests)."""

    async def outbox_size(self, destination_id: str) -> int:
        """How many rows wait for the destination."""

    async def drop_outbox(self, destination_id: str) -> int:
        """Forget everything waiting for a deleted destination; returns how many rows."""


class DeadLetters(Protocol):
    """Items a destination gave up on, with the request, response and reason.

    An item has at most one dead letter per destination: a batch handed over again after a
    crash adds none for an item whose letter is still there; once retried, a later death is
    recorded afresh.
    """

    async def list_dead_letters(
        self,
        destination_id: str,
        limit: int = 1000,
        *,
        after: tuple[int, str] | None = None,
    ) -> list[DeadLetter]:
        """The destination's dead letters, oldest first."""

    async def retry_dead_letters(
        self,
        destination_id: str,
        ids: Sequence[str] | None,
        order_key: Callable[[bytes], str] | None = None,
    ) -> int:
        """Move dead letters (all, or ``ids``) back into the outbox, due now with a fresh age;
        ``order_key`` gives an item's order key from its bytes (default: empty)."""

    async def discard_dead_letters(self, destination_id: str, ids: Sequence[str] | None) -> int:
        """Delete dead letters (all, or ``ids``); returns how many."""


class IdentityStates(Protocol):
    """Per-identity state of the server-campaign consumer, committed with its cursor."""

    async def load_identity_states(self, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored states of those keys that have one."""

    async def commit_identity_batch(self, commit: IdentityCommit, arrival_ms: int) -> bool:
        """Write a handled batch in one transaction: states, decisions appended to the log
        (stats included, arriving at ``arrival_ms``), outbox items, and the cursor moved to
        ``commit.last_seq``, only when the cursor is still before ``commit.first_seq``; False
        (and nothing written) when it is not. Raises ``StateConflict`` (nothing written)
        when a state of ``commit.expected`` is no longer what the batch read. A store whose log
        is not in the database appends the decisions to its own log once the rest is committed
        (``tidings.storage.jetstream.results``)."""

    async def identity_state_count(self) -> int:
        """How many identities have a stored state."""


class Profiles(Protocol):
    """Last-known device profiles (:mod:`tidings.storage.profilerecords`), written in batches
    and read as uniform samples for audience estimates."""

    async def upsert_profiles(self, updates: Sequence[ProfileUpdate]) -> None:
        """Apply updates (of any apps and devices, in order) in one transaction."""

    async def profile_counts(self, app_id: str, seen_since_ms: int) -> ProfileCounts:
        """The app's profiles, and those last seen at or after ``seen_since_ms``."""

    async def profile_sample(
        self,
        app_id: str,
        below: int,
        limit: int,
        *,
        project_id: str | None = None,
        cohort_ids: Sequence[str] = (),
    ) -> list[DeviceProfileRecord]:
        """Profiles whose ``sample_key`` is below ``below`` (a uniform sample), at most
        ``limit``, in ``sample_key`` order. Each carries those of ``cohort_ids`` (cohorts of
        ``project_id``) that its device id or user id is a member of."""

    async def get_profile(self, app_id: str, device_id: str) -> DeviceProfileRecord | None:
        """One device's profile, or ``None``."""


class Store(
    ConfigStore,
    EventLog,
    Cursors,
    Leases,
    Outbox,
    DeadLetters,
    Stats,
    Attribution,
    IdentityStates,
    Profiles,
    Protocol,
):
    """Everything Tidings persists, in one object. Obtain one with
    :func:`tidings.storage.open_store`.

    A store is bound to the event loop it was opened on. ``close()`` waits for queued writes;
    ``async with`` closes it too.
    """

    backend: str
    """``"sqlite"``, ``"postgresql"`` or ``"memory"``."""

    async def close(self) -> None:
        """Flush queued writes and release connections and threads."""

    async def schema_version(self) -> int:
        """The highest migration applied (migrations run when the store opens)."""

    async def health(self) -> str | None:
        """Why the store cannot serve now, or ``None`` when it can (for ``/healthz``).

        A write that failed because the database refused it makes the store unhealthy until a
        write succeeds; while unhealthy, this tries a small write of its own now and then, so
        the state recovers even when no client is writing.
        """

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""

    async def lag(self, cursor: str) -> int:
        """How many records wait for the cursor (for a partition cursor: in its partition);
        by sequence numbers here, exact where the backend counts (JetStream)."""
        return max(0, await self.last_seq() - await self.get_cursor(cursor))

    async def lag_after(self, cursor: str, position: int) -> int:
        """How many records would wait for the cursor were it at ``position`` (for a cursor not
        made yet: a partition cursor starts where its consumer's own cursor is)."""
        return max(0, await self.last_seq() - position)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
