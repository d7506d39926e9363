"""The standing reliability suite: faults and hostile input against real servers and stores.

Every module here sets ``pytestmark = pytest.mark.reliability`` (run the suite alone with
``pytest -m reliability``); the tests also run in the default full run. Real processes on
loopback, real SQLite files and PostgreSQL schemas; outages are made with a TCP proxy of the
test's own (:mod:`tcp_proxy`), never by touching the shared database server.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))

from server_support import (  # noqa: E402, F401 - fixtures, registered by being imported here
    anyio_backend,
    db_url,
    pg_url,
    sq,
    sqlite_url,
    srv,
)
