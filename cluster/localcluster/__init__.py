"""A single-node Kubernetes cluster made of upstream components, run as processes on this host.

The versions of its binaries, and the helpers it shares with the tool builds (the heartbeat, the
memory and disk readings), come from tools/toolchain; tools/ holds scripts rather than an
installed package, so its folder is put on the path here, once for every module.
"""

import sys
from pathlib import Path

_TOOLS = str(Path(__file__).resolve().parents[2] / "tools")
if _TOOLS not in sys.path:
    sys.path.append(_TOOLS)
