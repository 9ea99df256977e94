"""Settings every test needs before any import of cdk8s, the order of the tests that need the
local cluster, and the host left as found."""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# jsii starts the `node` on PATH: the pinned Node LTS that `make setup-node` links into
# $CACHE/bin, first on PATH as in the Makefile, also when pytest is run on its own.
CACHE_BIN = Path(os.environ.get("CACHE") or Path.home() / ".cache" / "todo-chatbot") / "bin"
os.environ["PATH"] = f"{CACHE_BIN}{os.pathsep}{os.environ['PATH']}"

CLUSTER_PHASES = ("own_cluster", "live", "e2e")
"""Markers of the tests that need the local cluster, in the order they run after all others
(pyproject.toml): a cluster boot takes about a minute, so the one that needs the host without a
cluster goes first, and the rest share one booted cluster, the e2e suite last."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def phase(item: pytest.Item) -> int:
        for number, marker in enumerate(CLUSTER_PHASES, start=1):
            if item.get_closest_marker(marker):
                return number
        return 0

    items.sort(key=phase)


@pytest.fixture(scope="session", autouse=True)
def cluster_left_as_found() -> Iterator[None]:
    """At the end, take down a local cluster the live tests booted (support/live_cluster.py);
    only sessions that ran a live module have imported it. With LEAVE_CLUSTER_UP=1 it stays up
    for what runs next (CI's soak), and whoever set it takes it down."""
    yield
    live_cluster = sys.modules.get("support.live_cluster")
    if live_cluster is not None and os.environ.get("LEAVE_CLUSTER_UP") != "1":
        live_cluster.down_if_booted_by_tests()
