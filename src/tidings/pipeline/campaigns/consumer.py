"""The evaluating consumer of server-side campaigns: the event log in, decisions and calls out.

Consumer ``server-campaigns`` reads every logged event (SDK uploads and Segment messages alike)
of apps that have active server campaigns, runs the core engine for the event's person
(:func:`tidings.core.campaigns.evaluate`) and writes, in **one** transaction with the cursor
(:meth:`~tidings.storage.roles.IdentityStates.commit_identity_batch`): the changed per-person
states, the decisions (into the event log, counted in stats) and each SUCCESS's rendered call
(into its webhook destination's outbox, under the decision id). A crash before that commit
redoes the batch from the stored states; after it, nothing is redone. So an event is counted
once and a decision made once, while a call may be delivered again under the same
``webhook-id`` (the receiver deduplicates).

**Memory stays bounded**: states live in an LRU cache of ``cache_size`` persons; the others
are read from the store when an event of theirs arrives (one query per batch). The cache is
dropped whenever the cursor is not where this process left it (another process handled
batches meanwhile) and for the persons of a batch whose commit failed.

**Only what the campaigns read is read**: an event whose name no active server campaign of its
app names (as its trigger or in an ``eventCount`` / ``eventDate`` condition), other than a
Segment ``identify``, is passed over without parsing its payload or touching any state. So a
person's history of an event starts when a campaign first names it (and the consumer first
runs at the end of the log); traits come from ``identify`` calls and from the events that are
read (an SDK event carries the user's custom properties and the device with it).

**On a partitioned log** (JetStream) it runs as one consumer per partition
(``server-campaigns@p<n>``), each committing its own cursor with its own states; the store
appends the decisions to the stream, in the partition of the device whose event triggered them.
A device's (or anonymous person's) state is only ever touched by its partition's consumer. A
user's state is shared by the partitions of the user's devices, so it is never cached there, and
it is committed only if still as read (compare and set); a batch that loses that race is
evaluated again from the new state.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import orjson

from tidings.core.campaigns import (
    SERVER_CHANNEL,
    SUCCESS,
    Campaign,
    CampaignEngine,
    IdentityState,
    Observation,
    evaluate,
    observe,
    parse_campaign,
    parse_project_settings,
)
from tidings.core.campaigns.targeting import history_filters
from tidings.core.errors import InvalidInput
from tidings.core.partitions import partition_cursor, partition_key, partition_of
from tidings.pipeline.delivery.campaign_calls import decision_in, failure_in, webhook_call
from tidings.pipeline.delivery.instances import get_instance
from tidings.pipeline.runner import Consumer
from tidings.storage import (
    DecisionIn,
    IdentityCommit,
    LogRecord,
    NotFoundError,
    OutboxItem,
    StateConflict,
    Store,
)

_log = logging.getLogger("tidings.pipeline.campaigns")

CURSOR = "server-campaigns"
IDENTIFY = "$identify"
DEFAULT_CACHE_SIZE = 100_000
DEFAULT_BATCH_SIZE = 2_000
CONFLICT_ATTEMPTS = 5
"""Evaluations of one batch that meet a changed state before the runner's backoff takes over."""
REVISION_CHECK_SECONDS = 1.0
"""How often an app's configuration revision is looked at (a changed campaign takes effect
within about this long)."""


Renderer = Callable[[str, bytes, str], bytes]
"""A kind's ``rendered(id, body, order_key)``: the outbox bytes of a rendered payload."""


class BatchTaken(RuntimeError):
    """The cursor moved past the batch's start meanwhile (another process handled it): nothing
    was written, and the runner must not move the cursor either."""


@dataclass(slots=True)
class _App:
    revision: int
    checked: float
    engine: CampaignEngine | None
    project_id: str
    cohorts: bool
    destinations: dict[str, Renderer | str]
    """destination id -> how its kind stores a rendered call, or why it cannot take one."""
    watched: frozenset[str]
    """Event names the campaigns read (triggers, eventCount / eventDate), and ``$identify``:
    any other event is passed over without being parsed."""


def _watched(campaigns: Sequence[Campaign]) -> frozenset[str]:
    names = {IDENTIFY}
    for campaign in campaigns:
        names.add(campaign.trigger.name)
        names.update(f.name for f in history_filters(campaign.targeting))
    return frozenset(names)


def _uses_cohorts(campaign: Campaign) -> bool:
    raw = campaign.raw.get("targeting") or []
    return any(isinstance(item, dict) and item.get("cohort") is not None for item in raw)


class ServerCampaigns:
    """The evaluating consumer and what it keeps between batches (engines, the state cache)."""

    def __init__(
        self,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_enqueued: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache_size = cache_size
        self.batch_size = batch_size
        self.on_enqueued = on_enqueued
        self._clock = clock
        self._apps: dict[str, _App] = {}
        self._cache: OrderedDict[str, IdentityState] = OrderedDict()
        self._committed: dict[str, int] = {}
        self.evaluated = 0
        self.decided = 0
        self.conflicts = 0
        """Batches evaluated again because a person's state changed meanwhile."""

    def consumer(self, store: Store) -> Consumer:
        async def handle(records: Sequence[LogRecord]) -> None:
            await self.handle(store, records)

        return Consumer(CURSOR, handle, batch_size=self.batch_size, start_at_end=True)

    async def consumers(self, store: Store) -> list[Consumer]:
        """A pipeline provider: the one consumer."""
        return [self.consumer(store)]

    @property
    def cached(self) -> int:
        """Persons whose state is in memory now."""
        return len(self._cache)

    # ------------------------------------------------------------------------- configuration

    async def prepare(self, store: Store, app_id: str) -> bool:
        """Load an app's server campaigns now (benchmarks, warm starts); whether it has any."""
        app = await self._app(store, app_id)
        return app is not None and app.engine is not None

    async def _app(self, store: Store, app_id: str) -> _App | None:
        now = self._clock()
        known = self._apps.get(app_id)
        if known is not None and now - known.checked < REVISION_CHECK_SECONDS:
            return known
        revision = await store.config_revision(app_id)
        if known is not None and known.revision == revision:
            known.checked = now
            return known
        app = await store.get_app(app_id)
        if app is None:
            return None
        campaigns: list[Campaign] = []
        for stored in await store.list_campaigns(app_id, "Active"):
            if stored.body.get("archived") is True:  # never runs, as it is never served
                continue
            try:
                campaign = parse_campaign(dict(stored.body))
            except InvalidInput as exc:
                _log.warning("campaign %s skipped: %s", stored.id, exc)
                continue
            if campaign.channel == SERVER_CHANNEL:
                campaigns.append(campaign)
        engine = None
        destinations: dict[str, Renderer | str] = {}
        if campaigns:
            project = await store.get_project(app.project_id)
            settings = project.settings.device_json() if project is not None else None
            engine = CampaignEngine(campaigns, parse_project_settings(settings), channel="server")
            for campaign in campaigns:
                for content in (campaign.server_contents or {}).values():
                    if content.destination_id not in destinations:
                        destinations[content.destination_id] = await _renderer(
                            store, content.destination_id
                        )
        loaded = _App(
            revision,
            now,
            engine,
            app.project_id,
            any(_uses_cohorts(c) for c in campaigns),
            destinations,
            _watched(campaigns),
        )
        self._apps[app_id] = loaded
        return loaded

    # ------------------------------------------------------------------------- one batch

    async def handle(self, store: Store, records: Sequence[LogRecord]) -> None:
        """Evaluate one batch and commit it with the cursor (raises :class:`BatchTaken` when
        another process got there first). On a partitioned log the batch is one partition's
        and so is the cursor; a batch that met a person's state changed by another
        partition's commit (:class:`~tidings.storage.StateConflict`) is evaluated again."""
        if not records:
            return
        cursor = batch_cursor(store.partitions, records[0])
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                await self._handle(store, cursor, records)
                return
            except StateConflict as exc:
                self.conflicts += 1
                if attempt == CONFLICT_ATTEMPTS:
                    raise
                _log.info("%s: %s, evaluating the batch again", cursor, exc)

    async def _handle(self, store: Store, cursor: str, records: Sequence[LogRecord]) -> None:
        if await store.get_cursor(cursor) != self._committed.get(cursor):
            # Another process handled this cursor's batches meanwhile (or this one never did):
            # what is cached may be older than what it committed.
            self._cache.clear()
        apps: dict[str, _App | None] = {}
        work: list[tuple[LogRecord, _App, Observation]] = []
        for record in records:
            if record.kind != "event":
                continue
            if record.app_id not in apps:
                apps[record.app_id] = await self._app(store, record.app_id)
            app = apps[record.app_id]
            if app is None or app.engine is None or record.name not in app.watched:
                continue
            try:
                obs = observe(orjson.loads(record.payload), record.device_id, record.user_id)
            except (InvalidInput, orjson.JSONDecodeError) as exc:
                _log.warning("server campaigns: record %s skipped: %s", record.seq, exc)
                continue
            if obs is not None:
                work.append((record, app, obs))
        keys = list(dict.fromkeys(f"{r.app_id}|{o.identity}" for r, _, o in work))
        # On a partitioned log a user's devices can be in several partitions: their states are
        # read afresh for every batch (never cached) and compared and set at commit.
        shared = store.partitions > 1
        expected: dict[str, bytes | None] = {}
        touched: dict[str, IdentityState] = {}
        missing = [k for k in keys if k not in self._cache]
        stored = await store.load_identity_states(missing) if missing else {}
        for key in keys:
            state = self._cache.get(key)
            if state is None:
                blob = stored.get(key)
                if shared and _spans_partitions(key):
                    expected[key] = blob
                state = IdentityState()
                if blob is not None:
                    try:
                        state = IdentityState.from_bytes(blob)
                    except InvalidInput as exc:
                        _log.warning("identity state %s unreadable, starting afresh: %s", key, exc)
            touched[key] = state
        decisions: list[tuple[str, DecisionIn]] = []
        deliveries: list[tuple[str, OutboxItem]] = []
        try:
            for record, app, obs in work:
                await self._evaluate(store, record, app, obs, touched, decisions, deliveries)
            commit = IdentityCommit(
                cursor,
                records[0].seq,
                records[-1].seq,
                states=[(k, s.to_bytes()) for k, s in touched.items()],
                decisions=decisions,
                deliveries=deliveries,
                expected=expected,
            )
            done = await store.commit_identity_batch(commit, int(time.time() * 1000))
        except BaseException:
            for key in touched:
                self._cache.pop(key, None)
            raise
        if not done:
            for key in touched:
                self._cache.pop(key, None)
            self._committed.pop(cursor, None)
            raise BatchTaken(f"{cursor}: the cursor moved past seq {records[0].seq} meanwhile")
        self._committed[cursor] = records[-1].seq
        self.evaluated += len(work)
        self.decided += len(decisions)
        cache = self._cache
        for key, state in touched.items():
            if key in expected:
                continue
            cache[key] = state
            cache.move_to_end(key)
        while len(cache) > self.cache_size:
            cache.popitem(last=False)
        if self.on_enqueued is not None:
            for destination_id in {d for d, _ in deliveries}:
                self.on_enqueued(destination_id)

    async def _evaluate(  # noqa: PLR0917 - one event and the batch's accumulators
        self,
        store: Store,
        record: LogRecord,
        app: _App,
        obs: Observation,
        touched: dict[str, IdentityState],
        decisions: list[tuple[str, DecisionIn]],
        deliveries: list[tuple[str, OutboxItem]],
    ) -> None:
        assert app.engine is not None
        state = touched[f"{record.app_id}|{obs.identity}"]
        cohorts: frozenset[str] = frozenset()
        if app.cohorts:
            cohorts = frozenset(
                await store.cohorts_for(app.project_id, state.user_id or obs.user_id, obs.device_id)
            )
        made = evaluate(app.engine, state, obs, record.app_id, cohorts)
        for one in made:
            timestamp = obs.event.timestamp
            decision = in_partition_of(record, decision_in(record.app_id, one, timestamp))
            decisions.append((record.app_id, decision))
            if one.status != SUCCESS or one.content is None:
                continue
            call = webhook_call(record.app_id, one, timestamp)
            destination_id = one.content.destination_id
            render = app.destinations.get(destination_id, "no such destination")
            if isinstance(render, str):
                # Nowhere to deliver: the decision stands, and its delivery failed at once.
                failure = failure_in(call, timestamp, f"destination {destination_id}: {render}")
                if failure is not None:
                    decisions.append((record.app_id, in_partition_of(record, failure)))
                continue
            body = render(one.id, orjson.dumps(call), obs.identity)
            at = int(time.time() * 1000)
            deliveries.append((destination_id, OutboxItem(one.id, obs.identity, 0, at, body)))


def batch_cursor(partitions: int, first: LogRecord) -> str:
    """The cursor a batch was read from: the consumer's, or on a partitioned log that of the
    partition its records are in (every record of a batch is in one)."""
    if partitions <= 1:
        return CURSOR
    key = partition_key(first.device_id, first.user_id)
    return partition_cursor(CURSOR, partition_of(first.app_id, key, partitions))


def _spans_partitions(state_key: str) -> bool:
    """Whether a person's records can be in several partitions: a user (``u:``) can have
    several devices; a device or anonymous id (``d:``) is its records' partition key."""
    return state_key.partition("|")[2].startswith("u:")


def in_partition_of(record: LogRecord, decision: DecisionIn) -> DecisionIn:
    """``decision`` logged under the triggering record's device and user when it would
    otherwise be partitioned elsewhere (the person's last-seen device is another one): a
    device's decisions follow its events in its partition. The payload is unchanged."""
    mine = partition_key(record.device_id, record.user_id)
    if partition_key(decision.device_id, decision.user_id) == mine:
        return decision
    return replace(decision, device_id=record.device_id, user_id=record.user_id)


async def _renderer(store: Store, destination_id: str) -> Renderer | str:
    """How a destination's kind stores a rendered call, or why it cannot take one."""
    try:
        instance = await get_instance(store, destination_id)
    except NotFoundError:
        return "no such destination"
    render: Renderer | None = getattr(instance.destination_kind, "rendered", None)
    if render is None:
        return f"a {instance.destination_kind.name} destination takes no rendered payloads"
    return render
