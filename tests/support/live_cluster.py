"""The local cluster as the live tests drive it: its command line, its kubectl, the user's side.

Callers put `cluster/` on sys.path first (tests/cluster and tests/e2e conftest do), as
`make cluster-up` runs the package with PYTHONPATH=cluster.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from localcluster import deploy, images, preflight, settings, supervisor
from localcluster.settings import Paths, paths_from_env

REPO = Path(__file__).resolve().parents[2]


def localcluster(command: str, *options: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m localcluster <command>` as `make cluster-up` / `make cluster-down` do."""
    return subprocess.run(
        [sys.executable, "-m", "localcluster", command, *options],
        env={**os.environ, "PYTHONPATH": str(REPO / "cluster")},
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )


def unbuildable_reason(paths: Paths) -> str | None:
    """Why the cluster cannot boot here yet (not root, binaries or images not built), or None."""
    if os.geteuid() != 0:
        return "the local cluster needs root"
    missing = preflight.check_binaries(bin_dir=paths.bin, built=preflight.BUILT_BINARIES, host=[])
    if missing:
        return missing
    absent = images.missing_components(paths)
    if absent:
        return f"cluster images not built ({', '.join(absent)}): run `make cluster-images`"
    return None


@contextlib.contextmanager
def running_cluster(*commands: str) -> Iterator[bool]:
    """The running local cluster, else one booted with `python -m localcluster <commands>`.

    Yields whether it was booted here, and then takes it down again. Skips the module when the
    cluster cannot be built here yet; fails it when a command fails.
    """
    paths = paths_from_env()
    booted = supervisor.running_pid(paths, "kube-apiserver") is None
    if booted:
        reason = unbuildable_reason(paths)
        if reason:
            pytest.skip(reason)
        for command in commands:
            result = localcluster(command)
            if result.returncode != 0:
                localcluster("down")
                pytest.fail(f"cluster {command} failed: {result.stderr.strip()[-500:]}")
    try:
        yield booted
    finally:
        if booted:
            localcluster("down")


def kubectl(*args: str, check: bool = True, input_text: str | None = None) -> str:
    """Run the cluster's kubectl with the admin kubeconfig; fail the test with its message."""
    paths = paths_from_env()
    result = subprocess.run(
        [str(paths.bin / "kubectl"), f"--kubeconfig={paths.kubeconfig}", *args],
        capture_output=True,
        text=True,
        input=input_text,
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def user_get(url: str, *, host: str | None = None) -> tuple[str, str]:
    """GET a URL from the user's namespace; return (HTTP status, body), status 000 if refused."""
    headers = ["-H", f"Host: {host}"] if host else []
    command = ["ip", "netns", "exec", settings.USER_NETNS, "curl", "-s", "-m", "5"]
    result = subprocess.run(
        [*command, *headers, "-w", "\n%{http_code}", url],
        capture_output=True,
        text=True,
        check=False,
    )
    body, _, status = result.stdout.rpartition("\n")
    return status, body


def deployed_release() -> Iterator[None]:
    """Give the running cluster with `make up`'s release; boot and deploy it when none runs.

    For a module-scoped fixture: a cluster booted here is taken down after; the module is
    skipped when the cluster cannot be built here yet, or runs without the app release.
    """
    with running_cluster("up", "deploy") as booted:
        if not booted and not kubectl(
            "-n", deploy.NAMESPACE, "get", "deployments", "-o", "name", check=False
        ):
            pytest.skip("the running cluster has no app release: run `make up`")
        yield


def eventually(what: str, check: Callable[[], Any], *, timeout_seconds: float) -> Any:
    """Retry `check()` every 5 s until it returns something true; return that.

    For what a watch cannot report: Prometheus' scrapes and rule evaluations.
    """
    deadline = time.monotonic() + timeout_seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} within {timeout_seconds:.0f}s"
        time.sleep(5)
    return found
