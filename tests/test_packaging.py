"""The release artifacts: ``python -m build`` makes an sdist and a wheel, and the wheel, installed
into a fresh virtualenv, serves the dashboard (its templates and static files are inside).

The build runs on a copy of the files git would ship, without build isolation (the dev
dependencies pin setuptools and build), and the new virtualenv borrows this one's installed
dependencies through a ``.pth`` file, so nothing is downloaded. The wheel's own ``tidings``
console script starts the server.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from loopback import start_serve
from repository import ROOT, shipped_files


def _shipped_tree(into: Path) -> Path:
    """A copy of the files git tracks (or would track): what a fresh clone has."""
    for source in shipped_files():
        target = into / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return into


def _run(*args: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_build_makes_a_wheel_that_serves_the_dashboard(tmp_path: Path) -> None:
    tree = _shipped_tree(tmp_path / "checkout")
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(tree))
    (sdist,) = dist.glob("tidings-*.tar.gz")
    (wheel,) = dist.glob("tidings-*.whl")
    version = wheel.name.split("-")[1]
    assert sdist.name == f"tidings-{version}.tar.gz"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "tidings/server/templates/base.html" in names
    assert "tidings/server/static/dashboard.css" in names
    assert f"tidings-{version}.dist-info/licenses/LICENSE" in names

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    site = Path(
        _run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    )
    # The dependencies come from this environment (after the new one's own site-packages).
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "--no-deps",
        "--no-index",
        "--quiet",
        str(wheel),
    )
    where = _run(str(python), "-c", "import tidings; print(tidings.__file__, tidings.__version__)")
    assert where.split() == [str(site / "tidings" / "__init__.py"), version]

    served = start_serve(
        f"sqlite:///{tmp_path / 'served.db'}",
        {"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path / "config")},
        program=[str(venv / "bin" / "tidings")],
        cwd=str(tmp_path),
    )
    try:
        page = httpx.get(f"{served.base}/signin")
        assert page.status_code == 200 and "<form" in page.text
        css = httpx.get(f"{served.base}/static/dashboard.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert httpx.get(f"{served.base}/openapi.json").json()["info"]["version"] == version
    finally:
        served.stop()
