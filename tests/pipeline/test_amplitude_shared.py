"""An upload's events map what they share once: the same items as mapping every message whole.

Records are laid out as the server stores them (one prefix per upload and session); the same
records with the prefix forgotten take the whole path, and both must give the same items,
dead letters included, for every preset and for mappings that split and that do not.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from amplitude_standin import Standin
from hypothesis import given, settings
from hypothesis import strategies as st
from pipeline_support import amplitude_instance, make_app
from storage_support import Backend, run

from tidings.destinations.amplitude import Destination
from tidings.destinations.amplitude.actions import Subscription
from tidings.destinations.amplitude.shared import SharedMessages
from tidings.destinations.logmessage import sdk_message
from tidings.pipeline import PipelineRunner
from tidings.pipeline.delivery import (
    Deliveries,
    DirectOptions,
    Instance,
    SenderOptions,
    map_records,
)
from tidings.server.ingest import build_items
from tidings.server.upload import Upload
from tidings.storage import LogRecord

T0 = 1_764_300_000_000
APP = "app-1"


def _records(uploads: list[Upload]) -> list[LogRecord]:
    """The log records of ``uploads`` as a reader returns them (payload and shared prefix)."""
    records: list[LogRecord] = []
    for upload in uploads:
        events, _ = build_items(upload)
        for e in events:
            records.append(
                LogRecord(
                    len(records) + 1,
                    APP,
                    "event",
                    e.id,
                    e.name,
                    e.timestamp,
                    T0,
                    e.prefix + e.payload,
                    e.device_id,
                    e.user_id,
                    e.prefix,
                )
            )
    return records


def _instance(subscriptions: list[dict[str, Any]] | None) -> Instance:
    body: dict[str, Any] = {"settings": {"apiKey": "k"}}
    if subscriptions is not None:
        body["subscriptions"] = subscriptions
    return Instance("i-1", "amplitude", "A", (APP,), True, None, body, 0, 0)


_TEXT = st.sampled_from(["", "x", "12", "2021-08-17T15:21:15.449Z", "ios", "Android"])
_VALUE = st.one_of(st.none(), _TEXT, st.integers(-2, 2**41), st.floats(-1e3, 1e3), st.booleans())
_PROPERTIES = st.dictionaries(
    st.sampled_from(["level", "platform", "user", "when", "sid", "dev", "os", "m", "revenue"]),
    _VALUE,
    max_size=4,
)
_DEVICE = st.fixed_dictionaries(
    {"deviceId": st.sampled_from(["device-1", "device-2"])},
    optional={
        "platform": st.sampled_from(["ios", "android", "IOS", "web"]),
        "osVersion": st.sampled_from(["17.1", "14"]),
        "appVersion": st.just("2.0"),
        "model": st.just("iPhone15,2"),
        "manufacturer": st.just("Apple"),
        "locale": st.just("en-US"),
        "timezone": st.just("Europe/Paris"),
    },
)
_SESSIONS = {
    "s-1": {"id": "s-1", "counter": 1, "startedAt": T0},
    "s-2": {"id": "s-2", "counter": 2, "startedAt": T0 + 60_000},
}
_EVENT = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Level Up", "Order Completed", "SessionStarted", "Viewed"]),
        "type": st.sampled_from(["custom", "system"]),
        "timestamp": st.integers(0, 2**42),
        "sessionId": st.sampled_from(["s-1", "s-2", "s-3", "s-4", None]),  # s-3, s-4: no block
        "properties": _PROPERTIES,
    }
)


@st.composite
def _uploads(draw: st.DrawFn) -> list[Upload]:
    uploads = []
    for u in range(draw(st.integers(1, 3))):
        events = draw(st.lists(_EVENT, min_size=1, max_size=5))
        for n, event in enumerate(events):
            event["id"] = f"ev-{u}-{n}"
        custom = draw(st.none() | st.dictionaries(st.sampled_from(["plan", "age"]), _VALUE))
        uploads.append(
            Upload(
                app_id=APP,
                device=draw(_DEVICE),
                user_id=draw(st.sampled_from([None, "user-1"])),
                custom_properties=custom,
                sessions=_SESSIONS,
                dropped=0,
                events=events,
            )
        )
    return uploads


_MAPPINGS = [
    {},
    {"event_type": {"@template": "{{event}} on {{context.os.name}}"}},
    {"user_id": {"@path": "$.properties.user"}},
    {"time": {"@path": "$.properties.when"}},
    {"session_id": {"@path": "$.properties.sid"}},
    {"device_id": {"@path": "$.properties.dev"}},
    {"event_properties": {"@path": "$.context"}},
    {"insert_id": {"@path": "$.context.device.id"}},
    {"event_type": {"@path": "$.properties.missing"}},
    {"platform": {"@path": "$.properties.platform"}},
    {"os_name": {"@path": "$.properties.os"}},
    {"min_id_length": {"@path": "$.properties.m"}},
    {"user_id": {"@path": "$"}},
]
_SUBSCRIPTIONS = st.none() | st.lists(
    st.builds(
        lambda action, mapping, n: {
            "name": f"sub-{n}",
            "action": action,
            "trigger": 'type = "track"',
            "mapping": mapping,
        },
        st.sampled_from(["logEventV2", "logEvent", "logPurchase"]),
        st.sampled_from(_MAPPINGS),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=3,
)


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(_uploads(), _SUBSCRIPTIONS)
def test_shared_and_whole_paths_give_the_same_items(
    uploads: list[Upload], subscriptions: list[dict[str, Any]] | None
) -> None:
    instance = _instance(subscriptions)
    records = _records(uploads)
    whole = [r._replace(prefix=b"") for r in records]
    destination = instance.build()
    shared_items, shared_dead = map_records(destination, instance.app_ids, records, T0)
    whole_items, whole_dead = map_records(destination, instance.app_ids, whole, T0)
    assert shared_items == whole_items
    assert shared_dead == whole_dead


def _upload(events: int, **device: Any) -> Upload:
    return Upload(
        app_id=APP,
        device={"deviceId": "device-1", "platform": "ios", "osVersion": "17.1", **device},
        user_id="user-1",
        custom_properties={"plan": "pro"},
        sessions=_SESSIONS,
        dropped=0,
        events=[
            {
                "id": f"ev-{n}",
                "name": "Level Up",
                "type": "custom",
                "timestamp": T0 + n,
                "sessionId": "s-1",
                "properties": {"level": n},
            }
            for n in range(events)
        ],
    )


def test_the_events_of_an_upload_share_one_part_and_one_mapped_head() -> None:
    records = _records([_upload(3)])
    messages = SharedMessages()
    destination = Destination.from_json({"settings": {"apiKey": "k"}})
    parts = []
    for record in records:
        message, part = messages.message(
            record.kind, record.payload, record.prefix, record.device_id, record.user_id
        )
        assert message == sdk_message(orjson.loads(record.payload), device_id="device-1")
        parts.append(part)
        if part is not None:
            assert destination.work(message, T0, part) == destination.work(message, T0)
    assert parts[0] is None  # the first event takes the whole path
    assert parts[1] is not None and parts[1] is parts[2]
    assert len(parts[1].heads) == 1  # "Track Calls" mapped the shared fields once


def test_which_mappings_split() -> None:
    assert Subscription.preset("Track Calls").split() is not None
    assert Subscription.preset("Page Calls").split() is not None
    assert Subscription.preset("Order Completed Calls").split() is None  # Log Purchase
    assert Subscription.preset("Identify Calls").split() is None

    def split(mapping: dict[str, Any]) -> bool:
        return Subscription("s", "logEventV2", mapping=mapping).split() is not None

    assert split({"event_type": {"@template": "{{event}} on {{context.os.name}}"}})
    assert not split({"platform": {"@path": "$.properties.platform"}})  # combined with library
    assert not split({"os_name": {"@path": "$.properties.os"}})  # the user agent may set it
    assert split({"user_id": {"@path": "$"}})  # may read anything: mapped per event


def test_delivered_events_are_those_of_whole_messages(backend: Backend, amp: Standin) -> None:
    """End to end, both backends: uploads of several events stored as the server stores them,
    sent by the consumer to the stand-in, arrive exactly as mapping each message whole gives."""

    async def main() -> None:
        store = await backend.open()
        app_id = await make_app(store)
        instance = await amplitude_instance(store, app_id, amp.url)
        uploads = [
            _upload(8, deviceId=f"device-{d}", model="iPhone15,2", locale="fr-FR") for d in range(4)
        ]
        for d, upload in enumerate(uploads):
            upload.app_id = app_id
            upload.user_id = f"user-{d}"  # one user's 32 events would meet the 30/s limit
            for event in upload.events:
                event["id"] = f"{event['id']}-{d}"
            events, _ = build_items(upload)
            await store.ingest(app_id, events, arrival_ms=T0)
        runner = PipelineRunner(
            store,
            consumers=[],
            providers=[Deliveries(SenderOptions(direct=DirectOptions(min_events=1))).consumers],
        )
        await runner.run_until_idle()
        records = await store.read_after("never-committed", limit=100)
        whole = [r._replace(prefix=b"") for r in records]
        expected, _ = map_records(instance.build(), instance.app_ids, whole, T0)
        assert all(r.prefix for r in records)  # stored the server's way: the shared path ran
        assert amp.accepted == [pending.event for pending, _, _ in expected]
        await store.close()

    run(main())
