"""Fixtures of the end-to-end suite: the live cluster, the user, releases, measured figures.

The cluster is booted with `python -m localcluster up` (the command behind `make cluster-up`)
only when it is not running, and taken down at the end of the session only in that case
(tests/support/live_cluster.py), so the suite can run next to `make up` and other users of the
cluster. Every scenario installs its own release in its own namespace; the chart is pushed to
the local registry and installed from `oci://`, as `make up` does; the shared `app` release is
installed from the chart folder, as the README's install does.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
# The local cluster's runtime package (cluster/localcluster) is run with PYTHONPATH=cluster.
sys.path.insert(0, str(REPO / "cluster"))
# So is the image build's (images/imagebuild), which names the Next.js image.
sys.path.insert(0, str(REPO / "images"))

from e2e_cluster import NAMESPACE_LABEL, Release, admin_database_url, kubectl, paths  # noqa: E402
from e2e_user import AppUser, Load, UserAgent  # noqa: E402
from imagebuild.catalogue import NEXT  # noqa: E402
from localcluster import deploy, images, kube  # noqa: E402
from psycopg import connect  # noqa: E402
from support.fixture_images import build_next_image  # noqa: E402
from support.live_api import core  # noqa: E402
from support.live_cluster import ensure_running  # noqa: E402

CHART_FOLDER = REPO / "dist" / "todo-chatbot"
FIGURES = REPO / "reports" / "e2e-figures.json"
# One per session: namespaces and schemas of this run never meet those of an earlier one.
RUN_ID = secrets.token_hex(2)
# The whole suite takes well under this; older e2e namespaces belong to a crashed run.
LEFTOVER_AGE_SECONDS = 3600
OURS = f"{NAMESPACE_LABEL}=true"

ReleaseFactory = Callable[..., Release]


def _remove_leftovers() -> None:
    """Namespaces and schemas a crashed earlier run left behind.

    Only namespaces older than a whole run can take, so a run going on next to this one
    (another engineer's) keeps its releases; schemas go with their namespace.
    """
    namespaces, _ = kube.list_objects(core().list_namespace, label_selector=OURS)
    now = time.time()
    stale = [
        n["metadata"]["name"]
        for n in namespaces
        if now - _timestamp(n["metadata"]["creationTimestamp"]) > LEFTOVER_AGE_SECONDS
    ]
    if stale:
        kubectl("delete", "namespace", *stale, "--wait=true", timeout=180)
    alive = {n["metadata"]["name"].replace("-", "_") for n in namespaces} - {
        name.replace("-", "_") for name in stale
    }
    with connect(admin_database_url(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'e2e\\_%'"
        ).fetchall()
        for (name,) in rows:
            if name not in alive:
                conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def _timestamp(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="session")
def cluster() -> Iterator[None]:
    """The running local cluster with the current images pushed; booted for the session (and
    taken down at its end) when none runs."""
    if os.geteuid() != 0:
        pytest.fail("the end-to-end suite needs root (the local cluster): run it as root")
    ensure_running("up")
    images.push_all(paths())
    _remove_leftovers()
    yield


@pytest.fixture(scope="session")
def chart(cluster: None) -> tuple[str, str]:
    """The chart pushed to the local registry: (oci reference, version)."""
    # Packaged afresh (a fresh clone has the folder but no package; an old package may be
    # stale), so the pushed chart is the folder's: packaging is deterministic.
    subprocess.run(
        [
            str(paths().bin / "helm"),
            "package",
            str(CHART_FOLDER),
            "--destination",
            str(REPO / "dist"),
        ],
        check=True,
        capture_output=True,
    )
    return deploy.push_chart(paths()), deploy.chart_version(CHART_FOLDER)


@pytest.fixture(scope="session")
def digests(cluster: None) -> dict[str, str]:
    """The digests of the app images this session pushed, which every release runs."""
    return images.app_digests(paths())


@pytest.fixture(scope="session")
def next_digest(cluster: None) -> str:
    """The Next.js image, built if needed and pushed to the local registry: its digest."""
    build_next_image()
    images.push_all(paths())
    return images.digest(paths(), NEXT)


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    """Measured figures; printed and written to reports/e2e-figures.json at the end."""
    measured: dict[str, Any] = {}
    yield measured
    if measured:
        FIGURES.parent.mkdir(exist_ok=True)
        previous = json.loads(FIGURES.read_text()) if FIGURES.is_file() else {}
        FIGURES.write_text(json.dumps({**previous, **measured}, indent=2) + "\n")
        print(f"\ne2e figures ({FIGURES}): {json.dumps(measured)}", file=sys.stderr)


@pytest.fixture(scope="session")
def user_agent(cluster: None) -> Iterator[UserAgent]:
    """The end user's HTTP client, in their network namespace."""
    agent = UserAgent()
    yield agent
    agent.close()


@pytest.fixture(scope="session")
def releases(chart: tuple[str, str]) -> Iterator[list[Release]]:
    """Every release of the session; whatever is left is removed at the end."""
    made: list[Release] = []
    yield made
    for release in made:
        release.uninstall()
    # Namespaces that take longer are removed by the next run (`_remove_leftovers`).
    with contextlib.suppress(TimeoutError):
        kube.wait_for(
            core().list_namespace,
            lambda namespaces: not namespaces,
            what="the suite's namespaces deleted",
            timeout_seconds=120,
            label_selector=OURS,
        )


def _factory(
    chart: tuple[str, str], digests: dict[str, str], *registries: list[Release]
) -> ReleaseFactory:
    """A function making releases, each recorded in `registries` for the clean-up."""

    def make(purpose: str, node_port: int, *, from_folder: bool = False, **kwargs: Any) -> Release:
        release = Release(
            namespace=f"e2e-{purpose}-{RUN_ID}",
            node_port=node_port,
            chart_ref=str(CHART_FOLDER) if from_folder else chart[0],
            chart_version=chart[1],
            digests=digests,
            **kwargs,
        )
        for registry in registries:
            registry.append(release)
        release.create_namespace()
        return release

    return make


@pytest.fixture(scope="module")
def new_release(
    chart: tuple[str, str], digests: dict[str, str], releases: list[Release]
) -> Iterator[ReleaseFactory]:
    """Make releases (namespace, schema, Secret) that are removed when the module ends.

    `new_release("health", 30103, values={...}, chart_managed=False)`: the caller installs it.
    Removing them early keeps the pods (and their database connections: the host's
    PostgreSQL allows 50) of finished modules from adding up.
    """
    made: list[Release] = []
    yield _factory(chart, digests, made, releases)
    for release in made:
        release.uninstall()
        releases.remove(release)


@pytest.fixture(scope="session")
def app(
    chart: tuple[str, str],
    digests: dict[str, str],
    releases: list[Release],
    user_agent: UserAgent,
    figures: dict[str, Any],
) -> Release:
    """The release the read-only scenarios share, installed from nothing (deploy time measured).

    It is installed from the chart folder, `helm install ... dist/todo-chatbot`. It is exposed
    by a NodePort and also has an Ingress (of the cluster's default class) for the
    ingress-loss scenario; its own host, so no other release's Ingress collides with it.
    """
    release = _factory(chart, digests, releases)(
        "app",
        30101,
        from_folder=True,
        values={"ingress": {"enabled": True, "host": "todo.e2e.example"}},
    )
    began = time.monotonic()
    figures["deploy_seconds"] = round(release.install(), 1)
    wait_until_served(release, user_agent)
    figures["deploy_to_first_page_seconds"] = round(time.monotonic() - began, 1)
    return release


def installed_and_served(release: Release, agent: UserAgent, *, path: str = "/healthz") -> Release:
    """`release` installed (every pod Ready) and answering `path` to the user: a module fixture."""
    release.install()
    wait_until_served(release, agent, path=path)
    return release


def wait_until_served(
    release: Release, agent: UserAgent, *, timeout: float = 30, path: str = "/healthz"
) -> None:
    """Wait until the frontend answers `path` from the user's namespace.

    `helm --wait` ends when the pods are Ready; kube-proxy programs a new NodePort on its next
    sync, a moment later.
    """
    deadline = time.monotonic() + timeout
    while agent.request("GET", release.url + path, timeout=2).status != 200:
        assert time.monotonic() < deadline, f"{release.url} never answered the user"
        time.sleep(0.3)


def assert_lossless(load: Load, user: AppUser, release: Release) -> None:
    """No failed request, traffic flowed, and every created task is stored."""
    assert load.failures == [], (load.failures, frontend_warnings(release))
    assert load.succeeded > 20, load.summary
    stored = {task["id"] for task in user.tasks()}
    assert set(load.summary["created"]) <= stored


def frontend_warnings(release: Release) -> list[str]:
    """What the frontends logged at warning level or above (why a request failed)."""
    lines = []
    for pod in release.pods("frontend"):
        log = kubectl("-n", release.namespace, "logs", pod["metadata"]["name"], check=False)
        # The Python frontend's JSON has spaces, the Next.js frontend's none.
        lines += [
            line
            for line in log.splitlines()
            if '"level": "info"' not in line and '"level":"info"' not in line
        ]
    return lines[-20:]
