"""Throwaway network namespaces for the host-network tests (tests/cluster)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from localcluster import hostnet

# sysfs shows the network namespace of whoever mounted it, not of the reader: without a mount
# of its own the namespace would see the host's links (the live cluster's tcb0 among them), as
# `ip netns exec` avoids by remounting /sys. The private mount namespace keeps it from the host.
OWN_SYSFS = 'mount -t sysfs sysfs /sys && exec "$0" -c "$1"'


def in_own_network_namespace(script: str) -> subprocess.CompletedProcess[str]:
    """Run a Python `script` with `localcluster` importable, in a throwaway network namespace."""
    return subprocess.run(
        ["unshare", "--net", "--mount", "sh", "-c", OWN_SYSFS, sys.executable, script],
        env={**os.environ, "PYTHONPATH": str(Path(hostnet.__file__).parents[1])},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
