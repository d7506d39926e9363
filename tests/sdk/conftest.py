"""Fixtures: a live server per test and clients that are always closed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_harness import LiveServer
from sdk_helpers import MakeClient

from tidings.sdk import Tidings


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "server")
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    clients: list[Tidings] = []

    def make(server: LiveServer | None = None, **kwargs: Any) -> Tidings:
        options: dict[str, Any] = {
            "data_dir": tmp_path / "device",
            "upload_interval": 0.05,
            "log_level": "debug",
            "http_timeout": 5.0,
        }
        if server is not None:
            options.update(server.client_kwargs())
        else:
            options.update(
                app_id="app",
                api_key_public="pk",
                api_key_secret="sk",
                backend_url="http://127.0.0.1:9",
            )
        options.update(kwargs)
        client = Tidings(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close(timeout=1.0)
