"""The benchmark's package lives at the repository's top (`bench/`), outside pytest's paths;
it imports the local cluster's package (`cluster/localcluster`), as `make bench` runs it."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "cluster")]
