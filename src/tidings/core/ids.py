"""Time-ordered event ids (UUIDv7, RFC 9562) from injected time and randomness.

The core reads no clock and owns no random source: the caller passes ``now_ms`` and a function
returning random bytes. Ids made by one factory sort in the order they were made, even within one
millisecond or when the caller's clock steps backwards (RFC 9562 §6.2, method 3: the random part
is treated as a counter and incremented).
"""

from __future__ import annotations

from collections.abc import Callable

_RAND_BITS = 74
_RAND_MASK = (1 << _RAND_BITS) - 1
_MAX_MS = (1 << 48) - 1


def format_uuid7(ms: int, rand74: int) -> str:
    """Lay out a 48-bit ms timestamp and 74 random bits as a canonical UUIDv7 string."""
    rand_a = rand74 >> 62  # 12 bits
    rand_b = rand74 & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7_ms(uuid: str) -> int:
    """The millisecond timestamp embedded in a UUIDv7 string."""
    return int(uuid[:8] + uuid[9:13], 16)


class IdFactory:
    """Makes UUIDv7 strings that strictly increase for the life of the factory."""

    __slots__ = ("_last_ms", "_last_rand", "_random_bytes")

    def __init__(self, random_bytes: Callable[[int], bytes]) -> None:
        self._random_bytes = random_bytes
        self._last_ms = -1
        self._last_rand = 0

    def new_id(self, now_ms: int) -> str:
        """A fresh id for an event that happened at ``now_ms``."""
        ms = min(max(now_ms, 0), _MAX_MS)
        if ms > self._last_ms:
            rand = int.from_bytes(self._random_bytes(10), "big") & _RAND_MASK
            # Leave headroom so a burst within one millisecond can count upwards.
            rand >>= 1
        else:
            ms = self._last_ms
            rand = self._last_rand + 1
            if rand > _RAND_MASK:
                ms += 1
                rand = 0
        self._last_ms = ms
        self._last_rand = rand
        return format_uuid7(ms, rand)
