"""Partitioning of the event log: stable, in range, one device in one partition."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.core.partitions import (
    partition_cursor,
    partition_key,
    partition_of,
    split_cursor,
)

ids = st.text(min_size=0, max_size=40)


@given(app=ids, key=ids, partitions=st.integers(1, 1024))
def test_a_partition_is_in_range_and_the_same_every_time(
    app: str, key: str, partitions: int
) -> None:
    p = partition_of(app, key, partitions)
    assert 0 <= p < partitions
    assert partition_of(app, key, partitions) == p


def test_the_hash_is_fixed_across_processes_and_versions() -> None:
    # CRC-32 of "app_1\0dev-1", pinned: another process (or language) must agree.
    assert [partition_of("app_1", "dev-1", n) for n in (1, 16, 1024)] == [0, 14, 350]


@given(device=st.none() | ids, user=st.none() | ids)
def test_the_key_is_the_device_else_the_user(device: str | None, user: str | None) -> None:
    assert partition_key(device, user) == (device or user or "")


@given(name=st.text(min_size=1, max_size=30), partition=st.integers(0, 1023))
def test_partition_cursors_round_trip(name: str, partition: int) -> None:
    assert split_cursor(partition_cursor(name, partition)) == (name, partition)


def test_plain_cursors_have_no_partition() -> None:
    assert split_cursor("amplitude") == ("amplitude", None)
    assert split_cursor("a@p") == ("a@p", None)
    assert split_cursor("a@p01") == ("a@p01", None)
