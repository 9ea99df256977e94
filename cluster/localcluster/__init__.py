"""A single-node Kubernetes cluster made of upstream components, run as processes on this host.

The versions of its binaries, and the helpers it shares with the tool builds (the heartbeat, the
memory and disk readings), come from tools/toolchain, and the names of the images it serves
from the image catalogue (images/imagebuild); tools/ and images/ hold scripts rather than
installed packages, so their folders are put on the path here, once for every module.
"""

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
for _folder in (_REPO / "tools", _REPO / "images"):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))
