"""The benchmark's package lives at the repository's top (`bench/`), outside pytest's paths."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
