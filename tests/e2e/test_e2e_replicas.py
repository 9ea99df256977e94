"""Issue #15: `helm upgrade` after replicas changed outside Helm, with Helm 3 and Helm 4.

Each Helm installs its own release, so Helm 4's releases are applied server-side from the
start (its default) and Helm 3's by its client-side three-way merge. Then the backend's
replicas change outside Helm and the release is upgraded with a config change, without
`--force-conflicts`:
- autoscaling off, `kubectl scale` to 2: the chart sets `.spec.replicas` from
  `backend.replicaCount` (1), which `kubectl scale` now owns. Helm 4 refuses the upgrade on
  the conflict and names the field; with `--force-conflicts` it takes the field back and
  sets 1. Helm 3 upgrades and sets 1 without a word: its three-way merge compares the new
  manifest with the live object too, so kubectl's 2 is undone (measured here).
- autoscaling on, the HPA raised replicas to its minimum, 2: the chart leaves
  `.spec.replicas` out, so neither Helm touches it. Both upgrade without
  `--force-conflicts` and the HPA's 2 replicas stay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import ReleaseFactory, installed_and_served
from e2e_cluster import BACKEND, Release, kubectl, kubectl_json
from e2e_user import UserAgent

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

HELMS = {"helm": "Helm 4 (server-side apply)", "helm3": "Helm 3 (client-side apply)"}
NODE_PORTS = {("helm", "scale"): 30141, ("helm3", "scale"): 30142}
NODE_PORTS |= {("helm", "hpa"): 30143, ("helm3", "hpa"): 30144}
AUTOSCALING = {"enabled": True, "minReplicas": 2, "maxReplicas": 3}
CONFIG_CHANGE = {"config": {"logLevel": "debug"}}


def backend_replicas(release: Release) -> int:
    replicas: int = kubectl_json("-n", release.namespace, "get", "deployment", BACKEND)["spec"][
        "replicas"
    ]
    return replicas


def replicas_managers(release: Release) -> list[str]:
    """The field managers that own the backend Deployment's `.spec.replicas`."""
    deployment = kubectl_json(
        "-n", release.namespace, "get", "deployment", BACKEND, "--show-managed-fields"
    )
    return sorted(
        entry["manager"]
        for entry in deployment["metadata"]["managedFields"]
        if "f:replicas" in entry.get("fieldsV1", {}).get("f:spec", {})
    )


Install = Callable[..., Release]


@pytest.fixture(params=HELMS)
def install(
    request: pytest.FixtureRequest, new_release: ReleaseFactory, user_agent: UserAgent
) -> Install:
    """Runs a test once per Helm: `install(case, **release_fields)` gives the case a release of
    its own, installed by that Helm and serving."""
    helm_binary: str = request.param

    def installed(case: str, **fields: Any) -> Release:
        port = NODE_PORTS[helm_binary, case]
        release = new_release(f"{case}-{helm_binary}", port, helm_binary=helm_binary, **fields)
        return installed_and_served(release, user_agent)

    return installed


def upgrade(release: Release, *args: str) -> Any:
    """`helm upgrade` with the config change and `args`, as the release's Helm; the result."""
    release.values = {**release.values, **CONFIG_CHANGE}
    return release.helm("upgrade", args=("--wait", "--timeout=120s", *args))


def test_upgrade_after_kubectl_scale(install: Install, figures: dict[str, Any]) -> None:
    release = install("scale")
    helm_binary = release.helm_binary
    # kubectl on purpose: `kubectl scale` is what an operator types.
    kubectl("-n", release.namespace, "scale", f"deployment/{BACKEND}", "--replicas=2")
    release.wait_ready("backend", 2)
    managers = replicas_managers(release)

    result = upgrade(release)
    outcome: dict[str, Any] = {"replicas_owners": managers, "upgraded": result.returncode == 0}
    if helm_binary == "helm":
        assert result.returncode != 0, "Helm 4 upgraded over kubectl's replicas"
        assert "conflict" in result.stderr and ".spec.replicas" in result.stderr, result.stderr
        assert backend_replicas(release) == 2
        forced = upgrade(release, "--force-conflicts")
        assert forced.returncode == 0, release.explain(forced)
        outcome["after_force_conflicts"] = backend_replicas(release)
        assert backend_replicas(release) == 1
        release.wait_ready("backend", 1)
    else:
        assert result.returncode == 0, release.explain(result)
        # The three-way merge puts replicaCount (1) back over kubectl's 2, silently.
        assert backend_replicas(release) == 1
        release.wait_ready("backend", 1)
    outcome["replicas_after"] = backend_replicas(release)
    figures.setdefault("upgrade_after_replicas_changed", {})[f"{helm_binary} kubectl scale"] = (
        outcome
    )
    print(f"{HELMS[helm_binary]} after kubectl scale: {outcome}")
    release.uninstall()


def test_upgrade_after_the_autoscaler_changed_replicas(
    install: Install, figures: dict[str, Any]
) -> None:
    release = install("hpa", values={"backend": {"autoscaling": AUTOSCALING}})
    helm_binary = release.helm_binary
    # Installed with 1 (the chart leaves replicas out); the HPA raises it to its minimum.
    release.wait_ready("backend", AUTOSCALING["minReplicas"])
    managers = replicas_managers(release)

    result = upgrade(release)
    assert result.returncode == 0, release.explain(result)
    assert backend_replicas(release) == AUTOSCALING["minReplicas"]
    release.wait_ready("backend", AUTOSCALING["minReplicas"])
    outcome = {"replicas_owners": managers, "upgraded": True, "replicas_after": 2}
    figures.setdefault("upgrade_after_replicas_changed", {})[f"{helm_binary} hpa"] = outcome
    print(f"{HELMS[helm_binary]} after the HPA: {outcome}")
    release.uninstall()
