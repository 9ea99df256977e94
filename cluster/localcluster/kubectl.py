"""Run the built kubectl against the local cluster with the admin kubeconfig."""

from __future__ import annotations

import subprocess

from .settings import Paths
from .shell import run


def kubectl(
    paths: Paths,
    *args: str,
    input_text: str | None = None,
    check: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run `kubectl --kubeconfig $STATE/kubeconfig <args>`."""
    return run(
        [paths.bin / "kubectl", f"--kubeconfig={paths.kubeconfig}", *args],
        input_text=input_text,
        check=check,
        timeout=timeout,
    )
