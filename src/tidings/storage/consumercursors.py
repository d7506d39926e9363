"""One consumer's cursors as operations see them: where it is, how far behind, and moving it.

On a log with one partition a consumer (a sink, a destination) has one cursor, named after it.
On a partitioned log (JetStream) the runner drives it as one consumer per partition, with the
cursors ``<name>@p<n>``; the consumer's own cursor is then only the mark put at its creation,
where a partition cursor not made yet starts. Operations must follow the partition cursors:

* **how far behind** is the sum of the partitions' lags (JetStream counts each exactly, in
  messages: one upload's records of one partition each);
* **the position** is the log position up to which every partition has handled the log (a
  partition with nothing waiting counts as being at the log's end, so an idle partition does not
  hold it back);
* **moving the consumer** (start at the log's end, start from the beginning) moves its own
  cursor and every partition cursor to the same stream sequence: sequences are one order shared
  by all partitions, so "everything up to ``seq``" means the same in each.

Only the store's roles are used, so these work on every backend alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tidings.core.partitions import partition_cursor
from tidings.storage.roles import Store


@dataclass(frozen=True, slots=True)
class PartitionProgress:
    """One partition cursor of a consumer: its position and how many records wait for it."""

    partition: int
    position: int
    lag: int


@dataclass(frozen=True, slots=True)
class ConsumerProgress:
    """Where a consumer is: ``position`` (everything up to it is handled, in every partition),
    ``behind`` (records waiting; on JetStream messages, summed over partitions) and, on a
    partitioned log, each
    partition."""

    position: int
    behind: int
    partitions: list[PartitionProgress] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{"position", "behind"[, "partitions": [{partition, position, lag}]]}``."""
        out: dict[str, Any] = {"position": self.position, "behind": self.behind}
        if self.partitions:
            out["partitions"] = [
                {"partition": p.partition, "position": p.position, "lag": p.lag}
                for p in self.partitions
            ]
        return out


def consumer_cursor_names(store: Store, consumer: str) -> list[str]:
    """Every cursor that holds a part of ``consumer``'s position: its own, and on a partitioned
    log one per partition."""
    parts = store.partitions
    if parts <= 1:
        return [consumer]
    return [consumer, *(partition_cursor(consumer, p) for p in range(parts))]


def consumer_position(cursors: dict[str, int], consumer: str, partitions: int) -> int:
    """The lowest position of ``consumer``'s cursors in ``cursors`` (from one
    ``list_cursors()``, so a listing of many consumers costs one read): a lower bound of
    :attr:`ConsumerProgress.position` that needs no look at the log. A partition cursor not
    made yet counts as the consumer's own (where the runner will start it)."""
    base = cursors.get(consumer, 0)
    if partitions <= 1:
        return base
    return min(cursors.get(partition_cursor(consumer, p), base) for p in range(partitions))


async def consumer_progress(store: Store, consumer: str) -> ConsumerProgress:
    """Where ``consumer`` is and how far behind, exact on every backend (see the module)."""
    parts = store.partitions
    if parts <= 1:
        return ConsumerProgress(await store.get_cursor(consumer), await store.lag(consumer))
    cursors = await store.list_cursors()
    base = cursors.get(consumer, 0)
    end = await store.last_seq()
    progress: list[PartitionProgress] = []
    for p in range(parts):
        name = partition_cursor(consumer, p)
        position = cursors.get(name)
        if position is None:  # not started yet: it will start at the consumer's own mark
            position = base
            lag = await store.lag_after(name, base)
        else:
            lag = await store.lag(name)
        progress.append(PartitionProgress(p, position, lag))
    handled = min(end if x.lag == 0 else x.position for x in progress)
    return ConsumerProgress(handled, sum(x.lag for x in progress), progress)


async def move_consumer(store: Store, consumer: str, seq: int) -> None:
    """Put ``consumer`` at ``seq`` (either direction): its own cursor and, on a partitioned log,
    every partition cursor, so each partition goes on with the records after ``seq``.

    A batch a process is handling meanwhile may still commit past ``seq`` (commits only move
    forward), as on a single cursor.
    """
    for name in consumer_cursor_names(store, consumer):
        await store.reset_cursor(name, seq)
