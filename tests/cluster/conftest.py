"""Make the runtime package (cluster/localcluster) importable; it is run with PYTHONPATH=cluster."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "cluster"))
