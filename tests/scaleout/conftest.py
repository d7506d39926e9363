"""Scale-out tests: the shared helpers of the storage and stream suites are importable."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "storage"))
sys.path.insert(0, str(HERE.parent / "streams"))
sys.path.insert(0, str(HERE.parent / "destinations"))
