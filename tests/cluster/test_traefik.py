"""The Traefik add-on's objects and the local release's Ingress, before anything is applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from localcluster import deploy, settings, traefik
from localcluster.errors import ClusterError
from localcluster.settings import Paths

pytestmark = pytest.mark.cluster

IMAGE = "localhost:5001/todo-chatbot/traefik:v0.0.0"


def by_kind(kind: str, name: str) -> dict[str, Any]:
    """Return the one add-on object of that kind and name."""
    found = [
        item
        for item in traefik.manifests(IMAGE)
        if item["kind"] == kind and item["metadata"]["name"] == name  # type: ignore[index]
    ]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def container() -> dict[str, Any]:
    """Return Traefik's container."""
    spec = by_kind("Deployment", "traefik")["spec"]["template"]["spec"]
    (only,) = spec["containers"]
    return dict(only)


def test_traefik_runs_under_the_restricted_profile() -> None:
    namespace = by_kind("Namespace", traefik.NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pod = by_kind("Deployment", "traefik")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    # Unprivileged ports: not even NET_BIND_SERVICE is added back.
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert all(port["containerPort"] >= 1024 for port in container()["ports"])


def test_both_providers_are_on_and_the_offline_cluster_calls_nobody() -> None:
    args = container()["args"]
    assert "--providers.kubernetesIngress=true" in args
    assert "--providers.kubernetesGateway=true" in args
    assert "--global.checkNewVersion=false" in args
    assert "--global.sendAnonymousUsage=false" in args
    assert f"--entryPoints.web.address=:{traefik.WEB_PORT}" in args


def test_status_names_the_address_the_user_reaches() -> None:
    args = container()["args"]
    assert f"--providers.kubernetesIngress.ingressEndpoint.ip={settings.USER_HOST_IP}" in args
    assert f"--providers.kubernetesGateway.statusAddress.ip={settings.USER_HOST_IP}" in args


def test_readiness_waits_for_ping() -> None:
    probe = container()["readinessProbe"]["httpGet"]
    assert probe == {"path": "/ping", "port": "ping"}
    assert "--ping.entryPoint=traefik" in container()["args"]


def test_ingress_class_is_the_cluster_default_and_names_traefik() -> None:
    ingress_class = by_kind("IngressClass", traefik.INGRESS_CLASS)
    assert ingress_class["spec"]["controller"] == "traefik.io/ingress-controller"
    annotations = ingress_class["metadata"]["annotations"]
    assert annotations["ingressclass.kubernetes.io/is-default-class"] == "true"


def test_gateway_listens_on_the_web_entrypoint_for_every_namespace() -> None:
    gateway_class = by_kind("GatewayClass", traefik.GATEWAY_CLASS)
    assert gateway_class["spec"]["controllerName"] == "traefik.io/gateway-controller"
    gateway = by_kind("Gateway", traefik.GATEWAY)
    assert gateway["metadata"]["namespace"] == traefik.NAMESPACE
    (listener,) = gateway["spec"]["listeners"]
    assert listener["port"] == traefik.WEB_PORT
    assert listener["protocol"] == "HTTP"
    assert listener["allowedRoutes"] == {"namespaces": {"from": "All"}}


def test_web_entrypoint_is_a_node_port_next_to_the_frontends() -> None:
    service = by_kind("Service", "traefik")
    assert service["spec"]["type"] == "NodePort"
    (port,) = service["spec"]["ports"]
    assert port["nodePort"] == traefik.NODE_PORT != deploy.FRONTEND_NODE_PORT
    assert port["targetPort"] == "web"
    assert traefik.ingress_url() == f"http://{settings.USER_HOST_IP}:{traefik.NODE_PORT}"


def test_traefik_sees_each_users_own_address() -> None:
    # Cluster would SNAT every user to the node's address: one sign-in bucket for everyone.
    assert by_kind("Service", "traefik")["spec"]["externalTrafficPolicy"] == "Local"


def test_cluster_role_reads_ingresses_and_gateway_routes_and_writes_their_status() -> None:
    rules = by_kind("ClusterRole", "traefik")["rules"]
    granted = {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    for resource in ("ingresses", "ingressclasses"):
        assert ("networking.k8s.io", resource, "watch") in granted
    assert ("networking.k8s.io", "ingresses/status", "update") in granted
    for resource in ("gateways", "httproutes", "grpcroutes", "referencegrants"):
        assert ("gateway.networking.k8s.io", resource, "watch") in granted
        assert ("gateway.networking.k8s.io", f"{resource}/status", "update") in granted
    # Read-only everywhere else: the controller changes nothing but status.
    assert {verb for _, resource, verb in granted if not resource.endswith("/status")} == {
        "get",
        "list",
        "watch",
    }


def test_crds_come_from_shared_and_from_beside_the_traefik_binary(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    shared = repo.parent / "shared" / "crds" / traefik.SHARED_CRDS
    if not shared.is_dir():
        pytest.skip("../shared/crds is not beside the repository")
    cache = tmp_path / "cache"
    folder = cache / "tools" / "traefik-v0.0.0"
    (folder / traefik.BUILT_CRD_FOLDER).mkdir(parents=True)
    (folder / "traefik").write_text("")
    for kind in traefik.BUILT_CRD_KINDS:
        (folder / traefik.BUILT_CRD_FOLDER / f"gateway.networking.k8s.io_{kind}.yaml").write_text(
            ""
        )
    (cache / "bin").mkdir()
    (cache / "bin" / "traefik").symlink_to("../tools/traefik-v0.0.0/traefik")
    paths = Paths(state=tmp_path, run=tmp_path, cache=cache, repo=repo)
    files = traefik.crd_files(paths)
    assert [path.parent for path in files] == [shared] * 4 + [folder / traefik.BUILT_CRD_FOLDER] * 2
    kinds = {path.name.removesuffix(".yaml").split("_")[1] for path in files}
    assert kinds == {
        "gatewayclasses",
        "gateways",
        "httproutes",
        "referencegrants",
        "grpcroutes",
        "backendtlspolicies",
    }


def test_fails_when_traefik_and_its_crds_are_not_built(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    paths = Paths(state=tmp_path, run=tmp_path, cache=tmp_path / "cache", repo=repo)
    if not (repo.parent / "shared" / "crds" / traefik.SHARED_CRDS).is_dir():
        pytest.skip("../shared/crds is not beside the repository")
    with pytest.raises(ClusterError, match=r"grpcroutes\.yaml not found: run `make cluster-tools`"):
        traefik.crd_files(paths)


def test_local_release_gets_an_ingress_of_class_traefik_only_when_asked() -> None:
    plain = deploy.local_values()
    assert "ingress" not in plain
    values = deploy.local_values(ingress_host=deploy.INGRESS_HOST)
    assert values["ingress"] == {
        "enabled": True,
        "className": traefik.INGRESS_CLASS,
        "host": deploy.INGRESS_HOST,
    }
    # The NodePort stays the public URL (and the fallback) with or without the Ingress.
    assert values["config"] == plain["config"] == {"publicUrl": deploy.public_url()}
    assert values["frontend"] == plain["frontend"]


def test_ingress_command_sends_the_host_header_to_traefik() -> None:
    command = deploy.ingress_command()
    assert command == (
        f"ip netns exec {settings.USER_NETNS} curl -H 'Host: {deploy.INGRESS_HOST}' "
        f"http://{settings.USER_HOST_IP}:{traefik.NODE_PORT}/"
    )
