"""The monitoring add-on's objects and the local release's metrics values, before anything runs."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from localcluster import deploy, monitoring, settings
from localcluster.errors import ClusterError
from localcluster.settings import Paths

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
SHARED_CRDS = REPO.parent / "shared" / "crds" / monitoring.SHARED_CRDS
IMAGES = {
    "operator_image": "localhost:5001/todo-chatbot/prometheus-operator:v0.0.1",
    "reloader_image": "localhost:5001/todo-chatbot/prometheus-config-reloader:v0.0.1",
    "prometheus_image": "localhost:5001/todo-chatbot/prometheus:v0.0.2",
    "version": "v0.0.2",
}


def by_kind(kind: str, name: str) -> dict[str, Any]:
    """Return the one add-on object of that kind and name."""
    found = [
        item
        for item in monitoring.manifests(**IMAGES)
        if item["kind"] == kind and item["metadata"]["name"] == name  # type: ignore[index]
    ]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def crd_schema(plural: str) -> dict[str, Any]:
    """Return the v1 schema of a CRD of ../shared/crds/prometheus-operator-v0.93.0."""
    if not SHARED_CRDS.is_dir():
        pytest.skip("../shared/crds is not beside the repository")
    crd = yaml.safe_load((SHARED_CRDS / f"monitoring.coreos.com_{plural}.yaml").read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def test_prometheus_object_passes_its_crds_schema() -> None:
    prometheus = by_kind("Prometheus", monitoring.NAME)
    jsonschema.Draft7Validator(crd_schema("prometheuses")).validate(prometheus)


def test_prometheus_selects_the_charts_monitors_and_rules_in_every_namespace() -> None:
    spec = by_kind("Prometheus", monitoring.NAME)["spec"]
    chart = {"matchLabels": {"app.kubernetes.io/name": "todo-chatbot"}}
    for kind in ("serviceMonitor", "podMonitor", "rule"):
        assert spec[f"{kind}Selector"] == chart
        assert spec[f"{kind}NamespaceSelector"] == {}


def test_prometheus_runs_the_image_built_here_with_its_version_and_measured_resources() -> None:
    spec = by_kind("Prometheus", monitoring.NAME)["spec"]
    assert spec["image"] == IMAGES["prometheus_image"]
    assert spec["version"] == IMAGES["version"]
    assert spec["resources"] == monitoring.PROMETHEUS_RESOURCES
    assert spec["resources"]["limits"]["memory"]


def test_operator_adds_the_reloader_built_here_to_prometheus_pods() -> None:
    deployment = by_kind("Deployment", monitoring.OPERATOR)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGES["operator_image"]
    assert f"--prometheus-config-reloader={IMAGES['reloader_image']}" in container["args"]


def test_both_workloads_run_under_the_restricted_profile() -> None:
    namespace = by_kind("Namespace", monitoring.NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    operator = by_kind("Deployment", monitoring.OPERATOR)["spec"]["template"]["spec"]
    prometheus = by_kind("Prometheus", monitoring.NAME)["spec"]
    for pod in (operator["securityContext"], prometheus["securityContext"]):
        assert pod["runAsNonRoot"] is True
        assert pod["runAsUser"] != 0
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    security = operator["containers"][0]["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}


def test_both_workloads_run_as_the_user_their_images_are_built_with() -> None:
    # The catalogue imports once localcluster has put images/ on the path.
    from imagebuild.catalogue import STATIC_BINARIES

    for image in ("prometheus-operator", "prometheus-config-reloader", "prometheus"):
        assert STATIC_BINARIES[image].user == f"{monitoring.USER_ID}:{monitoring.USER_ID}"


def test_prometheus_only_reads_what_its_discovery_needs() -> None:
    role = by_kind("ClusterRole", monitoring.PROMETHEUS_SERVICE_ACCOUNT)
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    assert not [rule for rule in role["rules"] if "secrets" in rule["resources"]]


def test_each_service_account_is_bound_to_its_own_role() -> None:
    for name in (monitoring.OPERATOR, monitoring.PROMETHEUS_SERVICE_ACCOUNT):
        binding = by_kind("ClusterRoleBinding", name)
        assert binding["roleRef"]["name"] == name
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": name, "namespace": monitoring.NAMESPACE}
        ]


def test_web_port_is_a_node_port_the_user_reaches() -> None:
    service = by_kind("Service", "prometheus")["spec"]
    assert service["type"] == "NodePort"
    (port,) = service["ports"]
    assert port["nodePort"] == monitoring.NODE_PORT
    low, high = settings.NODE_PORT_RANGE
    assert low <= monitoring.NODE_PORT <= high
    assert monitoring.NODE_PORT not in (deploy.FRONTEND_NODE_PORT, 30081)
    assert monitoring.url() == f"http://{settings.USER_HOST_IP}:{monitoring.NODE_PORT}"


def test_crds_are_every_kind_of_the_operators_release() -> None:
    if not SHARED_CRDS.is_dir():
        pytest.skip("../shared/crds is not beside the repository")
    paths = Paths(state=REPO, run=REPO, cache=REPO, repo=REPO)
    kinds = {path.name.split("_")[1].removesuffix(".yaml") for path in monitoring.crd_files(paths)}
    assert {"prometheuses", "servicemonitors", "podmonitors", "prometheusrules"} <= kinds


def test_fails_when_the_shared_crds_are_missing(tmp_path: Path) -> None:
    paths = Paths(state=tmp_path, run=tmp_path, cache=tmp_path, repo=tmp_path / "repo")
    with pytest.raises(ClusterError, match=r"no Prometheus Operator CRDs in .*: ../shared"):
        monitoring.crd_files(paths)


def test_only_the_monitored_release_gets_monitors_rules_and_a_scraper_namespace(
    tmp_path: Path,
) -> None:
    plain = deploy.local_values()
    assert "metrics" not in plain
    assert "metricsNamespace" not in plain["networkPolicy"]
    values = deploy.local_values(monitored=True)
    assert values["metrics"] == {
        "enabled": True,
        "podMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
    }
    assert values["networkPolicy"]["metricsNamespace"] == monitoring.NAMESPACE
    # The chart itself, not only its schema, must take them (it refuses some combinations).
    with_secrets = deploy.merge_values(
        values,
        {
            "secrets": {
                "databaseUrl": f"postgresql://app:{secrets.token_hex(8)}@db/app",
                "betterAuthSecret": secrets.token_hex(16),
                "openaiApiKey": secrets.token_hex(8),
            }
        },
    )
    values_file = tmp_path / "values.json"
    values_file.write_text(json.dumps(with_secrets))
    helm = settings.paths_from_env().bin / "helm"
    if not helm.exists():
        pytest.skip(f"{helm} is not built: run `make tools`")
    rendered = subprocess.run(
        [helm, "template", "r", REPO / "dist" / "todo-chatbot", "--values", values_file],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    kinds = {item["kind"] for item in yaml.safe_load_all(rendered) if item}
    assert {"PodMonitor", "PrometheusRule"} <= kinds
