"""The JavaScript package itself: its own test suite, its build outputs, its hashing."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import mmh3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sdkjs_support import SDK_JS, node_or_fail


@pytest.mark.slow
def test_npm_test_passes(sdkjs_dist: Path) -> None:
    """``npm test``: type checking (tsc --strict) and the package's own unit tests."""
    _node, npm = node_or_fail()
    proc = subprocess.run([npm, "test"], cwd=SDK_JS, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "# fail 0" in proc.stdout


def test_the_build_has_every_output(sdkjs_dist: Path) -> None:
    for name in ("index.mjs", "index.cjs", "tidings.min.js", "simulate.js", "types/index.d.ts"):
        assert (sdkjs_dist / name).is_file(), name
    package = json.loads((SDK_JS / "package.json").read_text())
    assert "dependencies" not in package
    for version in package["devDependencies"].values():
        assert version[0].isdigit(), f"toolchain versions are pinned exactly: {version}"
    assert (SDK_JS / "package-lock.json").is_file()


# The browser bundle's size (minified, gzip -9, as bench/sdk-js measures it), as a ratchet: it may
# only shrink unless a change says why it grows (BENCHMARKS.md, "JavaScript SDK"). The goal of
# 15 KB is not met: the engine alone is about that.
BUNDLE_GZIP_CEILING = 26_000


def test_browser_bundle_size_does_not_grow(sdkjs_dist: Path) -> None:
    bundle = (sdkjs_dist / "tidings.min.js").read_bytes()
    size = len(gzip.compress(bundle, 9))
    assert size <= BUNDLE_GZIP_CEILING, f"tidings.min.js is {size:,} bytes gzipped"


def test_browser_bundle_exposes_the_public_api(sdkjs_dist: Path) -> None:
    """The global ``Tidings`` has the package's runtime exports and the client's public methods
    under their own names (internal names are shortened in the bundle, public ones never)."""
    node, _npm = node_or_fail()
    script = (
        "const code = require('fs').readFileSync(process.argv[1], 'utf8');"
        "const ns = new Function(code + '\\nreturn Tidings;')();"
        "const proto = Object.getOwnPropertyNames(ns.Tidings.prototype);"
        "process.stdout.write(JSON.stringify({exports: Object.keys(ns).sort(), proto}));"
    )
    proc = subprocess.run(
        [node, "-e", script, str(sdkjs_dist / "tidings.min.js")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["exports"] == sorted(
        [
            "IndexedDBStorage",
            "InvalidConfig",
            "InvalidEvent",
            "InvalidInput",
            "MemoryStorage",
            "MemorySyncStore",
            "SDK_VERSION",
            "Tidings",
            "TidingsError",
            "murmur3_32",
        ]
    )
    for name in (
        "track",
        "trackGated",
        "setUserId",
        "setCustomProperty",
        "setCustomProperties",
        "getCustomProperty",
        "removeCustomProperty",
        "clearCustomProperties",
        "getRecentEvents",
        "getDataSetSnapshot",
        "pendingCount",
        "droppedCount",
        "persisted",
        "setSystemEventsListener",
        "clearSystemEventsListener",
        "registerDeepLinkListener",
        "removeDeepLinkListener",
        "registerRateReviewHandler",
        "removeRateReviewHandler",
        "registerGate",
        "unregisterGate",
        "foreground",
        "background",
        "pageHidden",
        "flush",
        "close",
        "deviceId",
        "paused",
    ):
        assert name in found["proto"], name


@settings(max_examples=10, deadline=None)
@given(texts=st.lists(st.text(st.characters(exclude_categories=["Cs"])), min_size=1, max_size=300))
def test_bucketing_hash_matches_mmh3(sdkjs_dist: Path, texts: list[str]) -> None:
    """MurmurHash3 x86 32 (seed 0, UTF-8, unsigned) in the JavaScript core equals ``mmh3``."""
    node, _npm = node_or_fail()
    script = (
        "const {murmur3_32} = require(process.argv[1]);"
        "const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(texts.map((t) => murmur3_32(t))));"
    )
    proc = subprocess.run(
        [node, "-e", script, str(sdkjs_dist / "index.cjs")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [mmh3.hash(t.encode("utf-8"), 0, signed=False) for t in texts]
