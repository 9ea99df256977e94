"""Checkers we did not write pass on every render: kube-score, and kubeconform (strict).

kube-score's ignored checks are justified in .kube-score.yaml; a finding that a scenario
makes on purpose (an operator's choice it tests) is in ACCEPTED, with its reason.
kubeconform validates against Kubernetes 1.28 and 1.36 with per-kind schemas generated
offline from ../shared (tests/support/k8s_schema.py).
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, tool_path
from support import k8s_schema
from test_render import SCENARIOS, render_scenario

KUBE_SCORE_CONFIG = ROOT / ".kube-score.yaml"
ONE_HEALTH_PATH = "pod-probes-identical"
"""An image with one health path (the own-image examples') has identical liveness and
readiness probes: the chart probes the paths the operator names."""
ACCEPTED = {
    # networkPolicy.enabled=false: the operator's cluster has no policy engine, or its own.
    "minimal": {"pod-networkpolicy"},
    # A NodePort Service is what frontend.service.type=NodePort asks for.
    "node-port": {"service-type"},
    # autoscaling.minReplicas keeps the chart's one-pod default, as replicaCount does.
    "autoscaling": {"horizontalpodautoscaler-replicas"},
    "two-releases": {"horizontalpodautoscaler-replicas"},
    # extraDeploy's Service selects the operator's own pods, which this render lacks.
    "extra-deploy": {"service-targets-pod"},
    # Every value of the own-image scenario as given: uid 1001, a sidecar and an init
    # container without resources, pull policy or read-only root, a spread constraint
    # without labelSelector, the frontend's liveness probe off, one health path.
    "own-image": {
        "container-security-context-user-group-id",
        "container-resources",
        "container-ephemeral-storage-request-and-limit",
        "container-image-pull-policy",
        "container-security-context-readonlyrootfilesystem",
        "pod-topology-spread-constraints",
        "pod-probes",
        ONE_HEALTH_PATH,
    },
    # That image needs uid 1001, which NOTES names as an override of the chart's 10001.
    "example-own-images-proxy": {"container-security-context-user-group-id", ONE_HEALTH_PATH},
    "example-own-images-public-backend": {ONE_HEALTH_PATH},
}


def rendered_file(
    render: Any, scenario: str, folder: Path, kube_version: str | None = None
) -> tuple[Path, int]:
    """Render a scenario (every release of it) into one file; returns it and its object count."""
    manifests = render_scenario(render, scenario, kube_version)
    path = folder / f"{scenario}.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    return path, len(manifests)


def kube_score(path: Path, *, ignore: bool = True) -> set[tuple[str, str]]:
    """kube-score's findings in a file, (check id, object), with .kube-score.yaml applied.

    `ignore=False` keeps the checks that .kube-score.yaml ignores.
    """
    config = yaml.safe_load(KUBE_SCORE_CONFIG.read_text())
    tests = config["ignore-test"] if ignore else []
    ignored = [flag for test in tests for flag in ("--ignore-test", test)]
    result = subprocess.run(
        [
            tool_path("kube-score"),
            "score",
            "--output-format",
            "json",
            "--kubernetes-version",
            config["kubernetes-version"],
            *ignored,
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.stdout, result.stderr
    return {
        (check["check"]["id"], scored["object_name"])
        for scored in json.loads(result.stdout)
        for check in scored["checks"]
        if not check["skipped"] and check["grade"] < ALL_OK
    }


ALL_OK = 10
"""kube-score's grade of a passed check (critical 1, warning 5)."""


@pytest.fixture(scope="session")
def kind_schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kind-schemas")
    for version in k8s_schema.KUBERNETES_VERSIONS:
        k8s_schema.write_kind_schemas(version, folder / version)
    return folder


def kubeconform(path: Path, schemas: Path, version: str) -> list[dict[str, Any]]:
    """kubeconform's strict verdict on each object of a file (its JSON `resources`)."""
    result = subprocess.run(
        [
            tool_path("kubeconform"),
            "-strict",
            "-verbose",
            "-output",
            "json",
            "-kubernetes-version",
            version,
            "-schema-location",
            str(schemas / version / k8s_schema.KUBECONFORM_LAYOUT),
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    resources: list[dict[str, Any]] = json.loads(result.stdout)["resources"]
    return resources


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_kube_score_finds_nothing(render, tmp_path, scenario):
    path, _ = rendered_file(render, scenario, tmp_path)
    found = kube_score(path)
    accepted = ACCEPTED.get(scenario, set())
    assert {(check, name) for check, name in found if check not in accepted} == set()
    assert accepted <= {check for check, _ in found}, "an accepted finding is gone: drop it"


@pytest.mark.parametrize("version", k8s_schema.KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_kubeconform_finds_every_object_valid(render, tmp_path, kind_schemas, scenario, version):
    path, count = rendered_file(render, scenario, tmp_path, version)
    verdicts = kubeconform(path, kind_schemas, version)
    assert [
        (v["kind"], v["name"], v["msg"]) for v in verdicts if v["status"] != "statusValid"
    ] == []
    assert len(verdicts) == count


def test_kube_score_reports_what_it_checks(tmp_path):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "bare"},
        "spec": {"containers": [{"name": "app", "image": "app:1", "imagePullPolicy": "Never"}]},
    }
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(pod))
    checks = {check for check, _ in kube_score(path)}
    assert {
        "container-image-pull-policy",
        "container-ephemeral-storage-request-and-limit",
        "pod-networkpolicy",
    } <= checks


def test_kubeconform_refuses_an_unknown_field(tmp_path, kind_schemas):
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "targetPortt": 8080}]},
    }
    path = tmp_path / "service.yaml"
    path.write_text(yaml.safe_dump(service))
    for version in k8s_schema.KUBERNETES_VERSIONS:
        (verdict,) = kubeconform(path, kind_schemas, version)
        assert verdict["status"] == "statusInvalid"
        assert "targetPortt" in verdict["msg"]


def test_kubeconform_knows_the_monitor_route_and_external_secret_kinds(kind_schemas):
    for version in k8s_schema.KUBERNETES_VERSIONS:
        names = {path.name for path in (kind_schemas / version).iterdir()}
        assert {
            "httproute-gateway-v1.json",
            "servicemonitor-monitoring-v1.json",
            "podmonitor-monitoring-v1.json",
            "externalsecret-external-secrets-v1.json",
            "deployment-apps-v1.json",
        } <= names


def test_every_ignored_kube_score_check_still_fires_on_the_readme_install(render, tmp_path):
    # The README's values file: an autoscaled backend (anti-affinity is checked only for
    # more than one replica) and a one-replica frontend.
    path, _ = rendered_file(render, "example-file", tmp_path)
    fired = {check for check, _ in kube_score(path, ignore=False)}
    ignored = yaml.safe_load(KUBE_SCORE_CONFIG.read_text())["ignore-test"]
    assert set(ignored) <= fired


def test_every_ignored_kube_score_check_is_explained():
    lines = KUBE_SCORE_CONFIG.read_text().splitlines()
    ignored = yaml.safe_load(KUBE_SCORE_CONFIG.read_text())["ignore-test"]
    for test in ignored:
        index = lines.index(f"  - {test}")
        assert lines[index - 1].strip().startswith("#"), f"{test} has no reason above it"
