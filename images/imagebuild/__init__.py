"""The image build behind images/build.py, one module per concern.

`common` holds what every step shares (the cache folder, logs, commands, digests); `rootfs`
makes the bases (base-debian by debootstrap, base-python); `wheels` builds the apps' Python
packages within Pipfile.lock's hashes; `nextjs` runs the Next.js frontend's `npm ci` and
`next build` on the host; `buildah` builds and exports an image from its
Containerfile; `catalogue` names every image and how it is built.
"""

import sys
from pathlib import Path

# tools/ and cluster/ hold no installed packages: the toolchain (pins, cache, command runner)
# and the local cluster's settings (the registry the images are tagged for) import from their
# folders, whether images/build.py runs or a test or the cluster imports this package.
_REPO = Path(__file__).resolve().parents[2]
for _folder in (_REPO / "tools", _REPO / "cluster"):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))
