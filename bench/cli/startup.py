"""How long the ``tidings`` command takes to start, measured side by side in one run.

    .venv/bin/python bench/cli/startup.py [--runs N]

Each case is a fresh process, run ``N`` times with the cases interleaved (so a busy moment on
the machine hits them all alike); the median wall time is reported, with the median CPU time
(user + system) of the process, which a busy machine inflates far less, and each case's ratio to
the same help screen with the server, pipeline and SDK imported first, which is what every
command paid before the command modules imported their heavy parts lazily. The floors, a bare
interpreter and ``import typer``, show what no change in Tidings can remove.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TIDINGS = shutil.which("tidings", path=str(Path(sys.executable).parent)) or "tidings"
EAGER = (
    "import sys, tidings.sdk, tidings.server.app, tidings.pipeline.runtime, tidings.storage;"
    "from tidings.cli import main; sys.argv[0] = 'tidings'; main()"
)
CASES = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "python -c 'import typer' (floor)": [sys.executable, "-c", "import typer"],
    "tidings --help": [TIDINGS, "--help"],
    "tidings simulate --help": [TIDINGS, "simulate", "--help"],
    "tidings --version": [TIDINGS, "--version"],
    "tidings --help, heavy modules imported first": [sys.executable, "-c", EAGER, "--help"],
}
GOAL_S = 0.3


def timed(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for command in CASES.values():  # warm the file cache and the .pyc files
        timed(command)
    walls: dict[str, list[float]] = {name: [] for name in CASES}
    cpus: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, command in CASES.items():
            wall, cpu = timed(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    wall_of = {name: statistics.median(values) for name, values in walls.items()}
    cpu_of = {name: statistics.median(values) for name, values in cpus.items()}
    eager = "tidings --help, heavy modules imported first"
    print(f"{'case':<46} {'wall':>8} {'cpu':>8} {'vs eager':>9}  goal")
    for name in CASES:
        goal = f"< {GOAL_S} s" if name in ("tidings --help", "tidings simulate --help") else ""
        print(
            f"{name:<46} {wall_of[name] * 1000:>5.0f} ms {cpu_of[name] * 1000:>5.0f} ms"
            f" {wall_of[name] / wall_of[eager]:>8.2f}x  {goal}"
        )


if __name__ == "__main__":
    main()
