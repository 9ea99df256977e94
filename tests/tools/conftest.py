"""Make the scripts in tools/ and their `toolchain` package importable, as running them does."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
