"""The identity-state role of the memory store: the SQL store's commit rule under one lock."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tidings.storage.clock import wall_ms
from tidings.storage.deliveryrecords import OutboxItem
from tidings.storage.identitystates import IdentityCommit, StateConflict, group_decisions
from tidings.storage.logrecords import DecisionIn
from tidings.storage.memory.state import MemoryState


class MemoryIdentityStates:
    """Per-identity states over a :class:`MemoryState`."""

    _state: MemoryState
    _append_decisions: Callable[[str, Sequence[DecisionIn], int], bool]
    _insert: Callable[[str, Sequence[OutboxItem], int], None]
    _wake_appended: Callable[[], None]

    async def load_identity_states(self, keys: Sequence[str]) -> dict[str, bytes]:
        with self._state.lock:
            states = self._state.identity_states
            return {k: states[k] for k in keys if k in states}

    async def commit_identity_batch(self, commit: IdentityCommit, arrival_ms: int) -> bool:
        state = self._state
        appended = False
        with state.lock:
            if state.cursors.get(commit.cursor, 0) >= commit.first_seq:
                return False
            stored = state.identity_states
            changed = sorted(k for k, before in commit.expected.items() if stored.get(k) != before)
            if changed:
                raise StateConflict(changed)
            state.cursors[commit.cursor] = commit.last_seq
            state.identity_states.update(commit.states)
            for app_id, decisions in group_decisions(commit.decisions).items():
                appended |= self._append_decisions(app_id, decisions, arrival_ms)
            due = wall_ms()
            for destination_id, item in commit.deliveries:
                self._insert(destination_id, [item], due)
        if appended:
            self._wake_appended()
        return True

    async def identity_state_count(self) -> int:
        with self._state.lock:
            return len(self._state.identity_states)
