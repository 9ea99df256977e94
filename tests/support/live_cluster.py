"""The local cluster as the live tests drive it: its command line, its kubectl, the user's side.

Callers put `cluster/` on sys.path first (tests/cluster and tests/e2e conftest do), as
`make cluster-up` runs the package with PYTHONPATH=cluster.
"""

from __future__ import annotations

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


_booted_by_tests = False
"""Whether this test session booted the running cluster, which it then takes down at its end."""


def ensure_running(*commands: str) -> bool:
    """Boot the local cluster with `python -m localcluster <commands>` unless one runs; return
    whether the cluster is the session's own (so the commands just ran on it).

    A cluster the tests booted stays up for the next modules (a boot takes about a minute) and
    gets the commands again (`up` and `deploy` add only what is missing); `down_if_booted_by_tests`
    removes it at the end of the session. Skips the module when the cluster cannot be built here
    yet; fails it when a command fails.
    """
    global _booted_by_tests
    paths = paths_from_env()
    if supervisor.running_pid(paths, "kube-apiserver") is None:
        reason = unbuildable_reason(paths)
        if reason:
            pytest.skip(reason)
        _booted_by_tests = True
    if _booted_by_tests:
        for command in commands:
            result = localcluster(command)
            if result.returncode != 0:
                down_if_booted_by_tests()
                pytest.fail(f"cluster {command} failed: {result.stderr.strip()[-500:]}")
    return _booted_by_tests


def down_if_booted_by_tests() -> None:
    """Take down the cluster this session booted, leaving the host as the session found it."""
    global _booted_by_tests
    if _booted_by_tests:
        localcluster("down")
        _booted_by_tests = False


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

    For a module-scoped fixture: a cluster booted here stays up (`ensure_running`); the module is
    skipped when the cluster cannot be built here yet, or runs without the app release.
    """
    if not ensure_running("up", "deploy") and not kubectl(
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
