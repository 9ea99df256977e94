"""Traefik on the local cluster, seen from the end user's network namespace.

A small echo server (the backend image's Python) in a namespace of its own is published by an
Ingress, by an HTTPRoute on the `public` Gateway and by a NodePort of its own (the fallback);
the user reaches the first two through Traefik's NodePort with the right Host header.

A running cluster is shared (others may be using it): the tests only add and remove their own
namespace, and put Traefik back as they found it. Without one, the module boots the cluster
with `python -m localcluster up`, taken down at the end of the session; it is skipped
only when the cluster cannot be built here yet (not root, binaries or images not built).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from localcluster import deploy, images, kube, settings, traefik
from localcluster.settings import paths_from_env
from support.live_api import core, networking, wait_pod_ready
from support.live_cluster import ensure_running, kubectl, user_get

pytestmark = [pytest.mark.cluster, pytest.mark.live, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]

NAMESPACE = "traefik-test"
INGRESS_HOST = "echo-ingress.traefik-test.local"
ROUTE_HOST = "echo-route.traefik-test.local"
# The echo Service's own NodePort: the fallback that must keep answering while Traefik is down.
# Clear of the app's (30080), Traefik's (30081), test_live.py's (30082), the e2e (301xx) and
# benchmark (30480) releases'.
ECHO_NODE_PORT = 30083
# Answers every GET with the Host header and path it was sent, so a test sees which route led
# there and that Traefik passed both on unchanged.
ECHO_SERVER = """\
import http.server
import signal
import sys

# As PID 1 it gets no default SIGTERM handler; without one, deleting the pod takes 30 s.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"echo {self.headers['Host']} {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("", 8080), Echo).serve_forever()
"""


def eventually(what: str, check: Callable[[], bool], *, timeout_seconds: float = 60) -> None:
    """Retry `check()` until it is true: Traefik and kube-proxy apply changes within seconds."""
    deadline = time.monotonic() + timeout_seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout_seconds:.0f}s"
        time.sleep(1)


def echo_objects() -> list[dict[str, object]]:
    """The echo Pod and Service, an Ingress and an HTTPRoute that publish them."""
    labels = {"app": "echo"}
    backend = {"service": {"name": "echo", "port": {"number": 80}}}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "echo", "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": "echo",
                        "image": images.ref(paths_from_env(), "backend"),
                        "command": ["python3", "-c", ECHO_SERVER],
                        "ports": [{"containerPort": 8080}],
                        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]},
                        },
                    }
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "echo", "namespace": NAMESPACE},
            "spec": {
                "type": "NodePort",
                "selector": labels,
                "ports": [{"port": 80, "targetPort": 8080, "nodePort": ECHO_NODE_PORT}],
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "echo", "namespace": NAMESPACE},
            # No ingressClassName: the default class (traefik) is filled in on creation.
            "spec": {
                "rules": [
                    {
                        "host": INGRESS_HOST,
                        "http": {
                            "paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]
                        },
                    }
                ]
            },
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "echo", "namespace": NAMESPACE},
            "spec": {
                "parentRefs": [{"name": traefik.GATEWAY, "namespace": traefik.NAMESPACE}],
                "hostnames": [ROUTE_HOST],
                "rules": [{"backendRefs": [{"name": "echo", "port": 80}]}],
            },
        },
    ]


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """The running local cluster; booted here (and left up, `ensure_running`) when none runs."""
    if not ensure_running("up") and not kubectl(
        "-n", traefik.NAMESPACE, "get", "deployment", traefik.NAME, check=False
    ):
        pytest.skip("the running cluster has no Traefik yet: run `make up`")
    yield


@pytest.fixture(scope="module")
def echo(cluster: None) -> Iterator[None]:
    """Publish the echo server through Traefik for the module; remove its namespace after."""
    # A namespace still terminating from an earlier run would swallow the new objects.
    kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=120s")
    items = echo_objects()
    kubectl("apply", "-f", "-", input_text=json.dumps(items[0]))
    listing = {"apiVersion": "v1", "kind": "List", "items": items[1:]}
    kubectl("apply", "-f", "-", input_text=json.dumps(listing))
    try:
        wait_pod_ready(NAMESPACE, "echo")
        yield
    finally:
        kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false")


def test_ingress_answers_for_its_host(echo: None) -> None:
    url = f"{traefik.ingress_url()}/hello?from=ingress"
    eventually("the Ingress answers", lambda: user_get(url, host=INGRESS_HOST)[0] == "200")
    assert user_get(url, host=INGRESS_HOST) == ("200", f"echo {INGRESS_HOST} /hello?from=ingress")


def test_ingress_got_the_default_class_and_the_users_address(echo: None) -> None:
    ingress = json.loads(kubectl("-n", NAMESPACE, "get", "ingress/echo", "-o", "json"))
    assert ingress["spec"]["ingressClassName"] == traefik.INGRESS_CLASS

    published = {"ingress": [{"ip": str(settings.USER_HOST_IP)}]}
    kube.wait_for(
        networking().list_namespaced_ingress,
        lambda found: [i["status"].get("loadBalancer") for i in found] == [published],
        what="Traefik publishes the Ingress status",
        timeout_seconds=60,
        namespace=NAMESPACE,
        field_selector=kube.named("echo"),
    )


def test_unknown_host_gets_404(echo: None) -> None:
    eventually(
        "the Ingress answers",
        lambda: user_get(traefik.ingress_url(), host=INGRESS_HOST)[0] == "200",
    )
    status, _ = user_get(f"{traefik.ingress_url()}/hello", host="nobody.traefik-test.local")
    assert status == "404"
    # Without a Host header curl sends the address, which no route names either.
    assert user_get(f"{traefik.ingress_url()}/hello")[0] == "404"


def test_http_route_on_the_public_gateway_answers(echo: None) -> None:
    url = f"{traefik.ingress_url()}/via-gateway"
    eventually("the HTTPRoute answers", lambda: user_get(url, host=ROUTE_HOST)[0] == "200")
    assert user_get(url, host=ROUTE_HOST) == ("200", f"echo {ROUTE_HOST} /via-gateway")
    status = json.loads(kubectl("-n", NAMESPACE, "get", "httproute/echo", "-o", "json"))["status"]
    (parent,) = status["parents"]
    assert parent["parentRef"]["name"] == traefik.GATEWAY
    accepted = {c["type"]: c["status"] for c in parent["conditions"]}
    assert accepted["Accepted"] == "True"
    assert accepted["ResolvedRefs"] == "True"


def test_gateway_is_programmed_with_the_users_address(cluster: None) -> None:
    gateway = json.loads(
        kubectl("-n", traefik.NAMESPACE, "get", f"gateway/{traefik.GATEWAY}", "-o", "json")
    )
    conditions = {c["type"]: c["status"] for c in gateway["status"]["conditions"]}
    assert conditions["Programmed"] == "True"
    assert gateway["status"]["addresses"][0]["value"] == str(settings.USER_HOST_IP)


def test_traefik_pod_is_admitted_under_the_restricted_profile(cluster: None) -> None:
    namespace = json.loads(kubectl("get", "namespace", traefik.NAMESPACE, "-o", "json"))
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = json.loads(
        kubectl(
            "-n",
            traefik.NAMESPACE,
            "get",
            "pods",
            "-l",
            "app.kubernetes.io/name=traefik",
            "-o",
            "json",
        )
    )["items"]
    assert pods and all(pod["status"]["phase"] == "Running" for pod in pods)


def test_with_traefik_down_the_ingress_fails_and_the_node_port_still_serves(echo: None) -> None:
    url = f"{traefik.ingress_url()}/down"
    fallback = f"{deploy.public_url(ECHO_NODE_PORT)}/down"
    # The app's own NodePort too, when `make up` deployed it (its liveness path answers 200).
    app = f"{deploy.public_url()}/healthz"
    fallbacks = [fallback, app] if user_get(app)[0] == "200" else [fallback]
    eventually("the Ingress answers", lambda: user_get(url, host=INGRESS_HOST)[0] == "200")
    eventually("the echo NodePort answers", lambda: user_get(fallback)[0] == "200")
    scale = ["-n", traefik.NAMESPACE, "scale", f"deployment/{traefik.NAME}"]
    try:
        kubectl(*scale, "--replicas=0")
        kube.wait_for(
            core().list_namespaced_pod,
            lambda pods: not pods,
            what="Traefik's pods deleted",
            timeout_seconds=60,
            namespace=traefik.NAMESPACE,
            label_selector="app.kubernetes.io/name=traefik",
        )
        # No endpoint: kube-proxy rejects the NodePort, so curl gets no HTTP status at all.
        eventually("the Ingress stops", lambda: user_get(url, host=INGRESS_HOST)[0] == "000")
        assert [user_get(address)[0] for address in fallbacks] == ["200"] * len(fallbacks)
    finally:
        kubectl(*scale, "--replicas=1")
        kube.wait_rolled_out(
            paths_from_env(), traefik.NAMESPACE, "deployment", traefik.NAME, look="its pods' events"
        )
    eventually("the Ingress answers again", lambda: user_get(url, host=INGRESS_HOST)[0] == "200")
