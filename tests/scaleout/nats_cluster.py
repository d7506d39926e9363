"""A three-node NATS cluster with JetStream on loopback, started (and killed) by a test."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """Nodes ``0..size-1``; each keeps its client port, route port and store across restarts."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.root = root
        self.ports = [_port() for _ in range(size)]
        self.routes = [_port() for _ in range(size)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * size

    @property
    def url(self) -> str:
        return "nats://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start(self, node: int) -> None:
        routes = ",".join(f"nats://127.0.0.1:{p}" for p in self.routes)
        self.procs[node] = subprocess.Popen(
            [
                self.binary,
                "-a", "127.0.0.1",
                "-p", str(self.ports[node]),
                "-n", f"node{node}",
                "-js",
                "-sd", str(self.root / f"node{node}"),
                "--cluster_name", "tidings-test",
                "--cluster", f"nats://127.0.0.1:{self.routes[node]}",
                "--routes", routes,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.ports[node]), timeout=0.1):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nats node{node} did not start")

    def start_all(self) -> None:
        for node in range(len(self.ports)):
            self.start(node)

    def kill(self, node: int) -> None:
        proc = self.procs[node]
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            self.procs[node] = None

    def stop_all(self) -> None:
        for node, proc in enumerate(self.procs):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                self.procs[node] = None
