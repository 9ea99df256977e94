"""Upgrade from the last released chart under load, as `ct install --upgrade` does.

The last version in docs/releases.yaml is packaged again from its commit
(support/released_chart.py) and installed in its own namespace with the values an operator of
that version had: the local cluster's, less the keys that version did not know. The current
chart then replaces it by `helm upgrade` with the same values file, while users list and create
tasks through the frontend's NodePort: no request may fail, and every task a user was told was
created is there afterwards. No step in between.
"""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ReleaseFactory, assert_lossless, wait_until_served
from e2e_cluster import RELEASE, helm, paths, private_file
from e2e_user import AppUser, Load, UserAgent
from support import released_chart

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PREVIOUS = released_chart.releases()[-1]["version"]
# Traffic before and after the upgrade, so a failure at either edge of it counts too.
SETTLE_SECONDS = 3


@pytest.fixture(scope="module")
def previous_chart(cluster: None) -> Path:
    return released_chart.package(PREVIOUS, helm=paths().bin / "helm", cache=paths().cache)


def schema_of(package: Path) -> dict[str, Any]:
    with tarfile.open(package) as archive:
        member = archive.extractfile(f"{released_chart.CHART}/values.schema.json")
        assert member is not None
        schema: dict[str, Any] = json.load(member)
    return schema


def known_to(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`values` without the keys `schema` does not define (those a later version added)."""
    properties = schema.get("properties")
    if properties is None:
        return values
    return {
        key: known_to(properties[key], value) if isinstance(value, dict) else value
        for key, value in values.items()
        if key in properties
    }


def test_upgrade_from_the_last_release_under_load_loses_no_request(
    previous_chart: Path,
    chart: tuple[str, str],
    new_release: ReleaseFactory,
    user_agent: UserAgent,
    figures: dict[str, Any],
) -> None:
    release = new_release("upgrade", 30122)
    values = known_to(schema_of(previous_chart), release.full_values())
    common = ("--namespace", release.namespace, "--wait", "--timeout=180s")
    with private_file(json.dumps(values)) as values_file:
        installed = helm(
            "install", RELEASE, str(previous_chart), "--values", str(values_file), *common
        )
        assert installed.returncode == 0, release.explain(installed)
        wait_until_served(release, user_agent)
        before = {p["metadata"]["name"] for c in ("backend", "frontend") for p in release.pods(c)}
        user = AppUser(user_agent, release.url).sign_up()
        with Load(user, create_every=5) as load:
            time.sleep(SETTLE_SECONDS)
            began = time.monotonic()
            upgraded = helm(
                "upgrade", RELEASE, chart[0], "--version", chart[1], "--plain-http",
                "--values", str(values_file), *common,
            )  # fmt: skip
            seconds = time.monotonic() - began
            time.sleep(SETTLE_SECONDS)
    assert upgraded.returncode == 0, release.explain(upgraded)
    figures["upgrade_from_previous_release"] = {
        "from": PREVIOUS,
        "to": chart[1],
        "helm_seconds": round(seconds, 1),
        "requests": load.succeeded + len(load.failures),
        "failed_requests": len(load.failures),
    }
    print(f"helm upgrade {PREVIOUS} -> {chart[1]}: {figures['upgrade_from_previous_release']}")
    history = json.loads(helm("history", RELEASE, *common[:2], "-o", "json").stdout)
    assert [entry["chart"] for entry in history] == [
        f"todo-chatbot-{PREVIOUS}",
        f"todo-chatbot-{chart[1]}",
    ]
    after = {p["metadata"]["name"] for c in ("backend", "frontend") for p in release.pods(c)}
    assert after.isdisjoint(before), "the upgrade left pods of the previous chart running"
    assert_lossless(load, user, release)
