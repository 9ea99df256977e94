"""Traefik, the cluster's ingress controller: Ingress (class `traefik`) and Gateway API routes.

Traefik runs in its own namespace with the kubernetesIngress and kubernetesGateway providers.
Its web entrypoint listens on an unprivileged port and is published as a NodePort, which the
end user reaches on the host end of their veth like the frontend's NodePort (kube-proxy's
nodePortAddresses already cover it, so the host firewall needs nothing more).

The Gateway API CRDs are the standard channel of ../shared/crds/gateway-api-v1.6.1
(GatewayClass, Gateway, HTTPRoute, ReferenceGrant). Traefik also watches GRPCRoutes and
BackendTLSPolicies and waits forever for their caches without their CRDs; tools/gotools.py
installs those two next to the traefik binary, from the Gateway API module Traefik is built
against.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client

from . import addon_objects as addon
from . import images, kube, settings
from .addon_objects import READ
from .errors import ClusterError
from .kubectl import apply_crds, apply_list
from .settings import Paths

NAMESPACE = "traefik"
NAME = "traefik"
INGRESS_CLASS = "traefik"
GATEWAY_CLASS = "traefik"
GATEWAY = "public"
INGRESS_CONTROLLER = "traefik.io/ingress-controller"
GATEWAY_CONTROLLER = "traefik.io/gateway-controller"
# Unprivileged ports, so Traefik needs no capability at all.
WEB_PORT = 8000
PING_PORT = 8080
# Next to the frontend's 30080; the user opens http://10.250.0.1:30081 with a Host header.
NODE_PORT = 30081
# The uid of the image (its user in images/imagebuild/catalogue.py).
USER_ID = 65532
GATEWAY_TIMEOUT_SECONDS = 60

SHARED_CRDS = "gateway-api-v1.6.1"
SHARED_CRD_KINDS = ("gatewayclasses", "gateways", "httproutes", "referencegrants")
# tools/gotools.py (TRAEFIK_EXTRA_CRDS) puts these in this folder beside the binary.
BUILT_CRD_KINDS = ("grpcroutes", "backendtlspolicies")
BUILT_CRD_FOLDER = "gateway-api-crds"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "todo-chatbot-cluster"}


def ingress_url(node_port: int = NODE_PORT) -> str:
    """The URL of Traefik's web entrypoint as the end user reaches it."""
    return f"http://{settings.USER_HOST_IP}:{node_port}"


def args(*, status_ip: str) -> list[str]:
    """Traefik's static configuration as command-line flags.

    The cluster is offline: no version check and no usage report. Ingress and Gateway status
    name `status_ip`, where the user reaches the NodePort.
    """
    return [
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        f"--entryPoints.web.address=:{WEB_PORT}",
        f"--entryPoints.traefik.address=:{PING_PORT}",
        "--ping=true",
        "--ping.entryPoint=traefik",
        "--providers.kubernetesIngress=true",
        f"--providers.kubernetesIngress.ingressEndpoint.ip={status_ip}",
        "--providers.kubernetesGateway=true",
        f"--providers.kubernetesGateway.statusAddress.ip={status_ip}",
        "--log.level=INFO",
        "--log.noColor=true",
    ]


def provider_cluster_role() -> dict[str, object]:
    """What the two providers read (and the status they write), as Traefik's docs list it."""
    gateway_kinds = [
        "gatewayclasses",
        "gateways",
        "httproutes",
        "grpcroutes",
        "tcproutes",
        "tlsroutes",
        "referencegrants",
        "backendtlspolicies",
    ]
    return addon.cluster_role(
        NAME,
        LABELS,
        [
            {"apiGroups": [""], "resources": ["namespaces", "nodes"], "verbs": READ},
            {"apiGroups": [""], "resources": ["services", "secrets", "configmaps"], "verbs": READ},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["ingresses", "ingressclasses"],
                "verbs": READ,
            },
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["ingresses/status"],
                "verbs": ["update"],
            },
            {"apiGroups": ["gateway.networking.k8s.io"], "resources": gateway_kinds, "verbs": READ},
            {
                "apiGroups": ["gateway.networking.k8s.io"],
                "resources": [f"{kind}/status" for kind in gateway_kinds],
                "verbs": ["update"],
            },
        ],
    )


def deployment(image: str) -> dict[str, object]:
    """One Traefik replica under the restricted Pod Security profile, ready when /ping answers."""
    probe: dict[str, object] = {"httpGet": {"path": "/ping", "port": "ping"}, "periodSeconds": 5}
    liveness: dict[str, object] = {**probe, "failureThreshold": 6}
    container = {
        "name": NAME,
        "image": image,
        "args": args(status_ip=str(settings.USER_HOST_IP)),
        "ports": [
            {"name": "web", "containerPort": WEB_PORT, "protocol": "TCP"},
            {"name": "ping", "containerPort": PING_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": probe,
        "livenessProbe": liveness,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
        "securityContext": addon.LOCKED_DOWN_CONTAINER,
    }
    security = {
        "runAsNonRoot": True,
        "runAsUser": USER_ID,
        "runAsGroup": USER_ID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    pod = {"securityContext": security, "containers": [container]}
    return addon.one_replica_deployment(
        NAME, NAMESPACE, LABELS, pod, strategy={"rollingUpdate": {"maxUnavailable": 0}}
    )


def manifests(image: str) -> list[dict[str, object]]:
    """Every object of the add-on except the CRDs, in the order they can be applied."""
    meta = {"namespace": NAMESPACE, "labels": LABELS}
    return [
        addon.restricted_namespace(NAMESPACE, LABELS),
        addon.service_account(NAME, NAMESPACE, LABELS),
        provider_cluster_role(),
        addon.cluster_role_binding(NAME, NAMESPACE, LABELS),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {
                "name": INGRESS_CLASS,
                "labels": LABELS,
                "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
            },
            "spec": {"controller": INGRESS_CONTROLLER},
        },
        deployment(image),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, **meta},
            "spec": {
                "type": "NodePort",
                # Not SNATed to the node's address: Traefik sees each user's own address and
                # passes it on in X-Forwarded-For, which the app's sign-in limits key on.
                "externalTrafficPolicy": "Local",
                "selector": {"app.kubernetes.io/name": NAME},
                "ports": [
                    {
                        "name": "web",
                        "port": 80,
                        "targetPort": "web",
                        "nodePort": NODE_PORT,
                        "protocol": "TCP",
                    }
                ],
            },
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": GATEWAY_CLASS, "labels": LABELS},
            "spec": {"controllerName": GATEWAY_CONTROLLER},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": GATEWAY, **meta},
            "spec": {
                "gatewayClassName": GATEWAY_CLASS,
                # Traefik binds a listener to the entrypoint with the same port.
                "listeners": [
                    {
                        "name": "web",
                        "protocol": "HTTP",
                        "port": WEB_PORT,
                        "allowedRoutes": {"namespaces": {"from": "All"}},
                    }
                ],
            },
        },
    ]


def crd_files(paths: Paths) -> list[Path]:
    """The CRD files to apply: the shared standard channel, then the two Traefik also watches."""
    shared = paths.repo.parent / "shared" / "crds" / SHARED_CRDS
    built = (paths.bin / NAME).resolve().parent / BUILT_CRD_FOLDER
    files = [shared / f"gateway.networking.k8s.io_{kind}.yaml" for kind in SHARED_CRD_KINDS]
    files += [built / f"gateway.networking.k8s.io_{kind}.yaml" for kind in BUILT_CRD_KINDS]
    for path in files:
        if not path.is_file():
            where = (
                "../shared is missing"
                if path.is_relative_to(shared)
                else "run `make cluster-tools`"
            )
            raise ClusterError(f"Gateway API CRD {path} not found: {where}")
    return files


def apply(paths: Paths) -> None:
    """Install or update the CRDs and Traefik, then wait for Traefik and the Gateway."""
    apply_crds(paths, crd_files(paths), what="the Gateway API CRDs")
    apply_list(paths, manifests(images.ref(paths, NAME)), name=NAME)
    wait_ready(paths)


def wait_ready(paths: Paths) -> None:
    """Wait for Traefik's rollout, then for the Gateway to be programmed by it."""
    kube.wait_rolled_out(
        paths,
        NAMESPACE,
        "deployment",
        NAME,
        look=f"run `kubectl --kubeconfig {paths.kubeconfig} -n {NAMESPACE} logs deployment/{NAME}`",
    )
    with kube.api_client(paths) as api:
        kube.wait_in_cluster(
            _gateways(api),
            lambda gateways: any(kube.condition_true(g, "Programmed") for g in gateways),
            what=f"gateway/{GATEWAY} programmed",
            timeout_seconds=GATEWAY_TIMEOUT_SECONDS,
            look=(
                f"run `kubectl --kubeconfig {paths.kubeconfig} -n {NAMESPACE} "
                f"describe gateway/{GATEWAY}`"
            ),
            field_selector=kube.named(GATEWAY),
        )


def _gateways(api: client.ApiClient) -> Callable[..., Any]:
    """The list function of the Gateways in Traefik's namespace (a custom resource)."""
    return functools.partial(
        client.CustomObjectsApi(api).list_namespaced_custom_object,
        "gateway.networking.k8s.io",
        "v1",
        NAMESPACE,
        "gateways",
    )
