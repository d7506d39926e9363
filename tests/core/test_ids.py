"""UUIDv7 event ids from injected time and randomness."""

from __future__ import annotations

import random
import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from tidings.core.ids import IdFactory, format_uuid7, uuid7_ms

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_layout_is_a_version_7_rfc_variant_uuid() -> None:
    text = IdFactory(random.Random(1).randbytes).new_id(1_767_607_200_000)
    assert UUID_RE.match(text)
    parsed = uuid.UUID(text)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert uuid7_ms(text) == 1_767_607_200_000


def test_randomness_is_injected() -> None:
    a = IdFactory(random.Random(7).randbytes).new_id(1000)
    b = IdFactory(random.Random(7).randbytes).new_id(1000)
    c = IdFactory(random.Random(8).randbytes).new_id(1000)
    assert a == b
    assert a != c


def test_format_places_all_bits() -> None:
    assert format_uuid7(0, 0) == "00000000-0000-7000-8000-000000000000"
    assert format_uuid7(2**48 - 1, 2**74 - 1) == "ffffffff-ffff-7fff-bfff-ffffffffffff"


@given(st.lists(st.integers(min_value=0, max_value=2**48 - 1), min_size=1, max_size=60))
def test_ids_strictly_increase_in_creation_order(times: list[int]) -> None:
    factory = IdFactory(random.Random(0).randbytes)
    ids = [factory.new_id(t) for t in times]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


@given(st.integers(min_value=0, max_value=2**48 - 1))
def test_timestamp_round_trips(ms: int) -> None:
    assert uuid7_ms(IdFactory(random.Random(0).randbytes).new_id(ms)) == ms


def test_burst_in_one_millisecond_counts_up() -> None:
    factory = IdFactory(lambda n: b"\xff" * n)
    ids = [factory.new_id(5) for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
