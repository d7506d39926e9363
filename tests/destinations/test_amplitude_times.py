"""The arithmetic shortcuts for message timestamps agree with ``datetime``.

``iso_ms`` formats every SDK event's time and ``to_epoch_ms`` parses it back for Amplitude; both
skip ``datetime`` for the usual shape, and must give exactly what ``datetime`` gives (or refuse
exactly what it refuses).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tidings.destinations.amplitude.convert import to_epoch_ms
from tidings.destinations.message import iso_ms

_EPOCH = datetime(1970, 1, 1)
MIN_MS = -62_135_596_800_000  # 0001-01-01
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999


def _reference_iso(ms: int) -> str:
    return (_EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds") + "Z"


def _reference_ms(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


@settings(max_examples=500)
@given(st.integers(MIN_MS, MAX_MS))
@example(MIN_MS)
@example(MAX_MS)
@example(-1)
def test_iso_ms_formats_like_datetime_and_parses_back(ms: int) -> None:
    text = iso_ms(ms)
    assert text == _reference_iso(ms)
    assert iso_ms(ms) == text  # again, from the remembered second
    assert to_epoch_ms(text) == ms
    assert to_epoch_ms(text) == ms


@pytest.mark.parametrize("ms", [MIN_MS - 1, MAX_MS + 1])
def test_iso_ms_refuses_what_datetime_refuses(ms: int) -> None:
    with pytest.raises(OverflowError):
        _reference_iso(ms)
    with pytest.raises(OverflowError):
        iso_ms(ms)


@settings(max_examples=800)
@given(
    st.integers(MIN_MS, MAX_MS).map(iso_ms),
    st.integers(0, 23),
    st.sampled_from("0123456789:.-TZz+ _x٣"),
)
@example("2021-08-17T24:00:00.000Z", 0, "0")
@example("2021-02-29T10:00:00.000Z", 0, "2")
def test_to_epoch_ms_of_altered_timestamps_matches_datetime(
    text: str, position: int, char: str
) -> None:
    """One character changed anywhere: the shortcut and ``datetime`` agree on every result,
    whether or not the unaltered text's second was just parsed (and remembered)."""
    altered = text[:position] + char + text[position + 1 :]
    assert to_epoch_ms(altered) == _reference_ms(altered)
    assert to_epoch_ms(text) == _reference_ms(text)
    assert to_epoch_ms(altered) == _reference_ms(altered)
