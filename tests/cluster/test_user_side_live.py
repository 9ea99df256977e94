"""The end user's side of the running app, tried as an attacker would (issue 12).

From the user's network namespace, with routes for the pod and Service ranges added via the
host, nothing inside the cluster answers but the NodePorts; the AI stand-in's debug routes
need their token; the sign-in limits key on the address each client really has, through the
frontend's NodePort and through Traefik alike; a pod slipped into the release's namespace
outside the `restricted` Pod Security profile is refused; PostgreSQL refuses another
namespace's pods, and each app connects as its own role.

Runs against the release `make up` deployed. Without a running cluster, the module boots one
and deploys the release (`python -m localcluster up`, `deploy`), taken down at the end of the
session; it is skipped only when the cluster cannot be built here yet.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from localcluster import ai_clients, ai_standin, deploy, monitoring, postgres, settings, traefik
from localcluster.settings import paths_from_env
from support.live_api import wait_pod_finished
from support.live_cluster import deployed_release, kubectl
from support.secret import Secret

pytestmark = [pytest.mark.cluster, pytest.mark.live, pytest.mark.timeout(1200)]

# Runs in the user's namespace (or on the host): tries each endpoint at once and prints what
# it found, `open` or why not. DNS over UDP too: CoreDNS answers a query or stays silent.
PROBE = """\
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor

NAME = b"".join(bytes([len(p)]) + p for p in b"kubernetes.default.svc.cluster.local".split(b"."))
QUERY = bytes.fromhex("123401000001000000000000") + NAME + bytes.fromhex("0000010001")

def tcp(target):
    try:
        socket.create_connection(tuple(target), 2).close()
        return "open"
    except OSError as exc:
        return type(exc).__name__

def udp_dns(host):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        try:
            s.sendto(QUERY, (host, 53))
            s.recv(512)
            return "open"
        except OSError as exc:
            return type(exc).__name__

request = json.load(sys.stdin)
with ThreadPoolExecutor(32) as pool:
    found = {f"{h}:{p}": r for (h, p), r in zip(request["tcp"], pool.map(tcp, request["tcp"]))}
    udp = zip(request["udp"], pool.map(udp_dns, request["udp"]))
    found.update({f"{h}:53/udp": r for h, r in udp})
print(json.dumps(found))
"""

# Posts sign-in and sign-up forms one after the other, never following redirects; prints the
# statuses. The forms (passwords included) come on stdin, never on a command line.
POSTS = """\
import http.client, json, sys, urllib.parse

statuses = []
for post in json.load(sys.stdin):
    connection = http.client.HTTPConnection(post["address"], timeout=30)
    body = urllib.parse.urlencode(post["form"])
    headers = {"Content-Type": "application/x-www-form-urlencoded", **post["headers"]}
    connection.request("POST", post["path"], body=body, headers=headers)
    statuses.append(connection.getresponse().status)
    connection.close()
print(json.dumps(statuses))
"""

NODE_PORT = f"{settings.USER_HOST_IP}:{deploy.FRONTEND_NODE_PORT}"
INGRESS = f"{settings.USER_HOST_IP}:{traefik.NODE_PORT}"


def python(script: str, stdin: Any, *, as_user: bool) -> Any:
    """Run `script` in the user's namespace (or on the host) with `stdin` as JSON; its JSON."""
    netns = ["ip", "netns", "exec", settings.USER_NETNS] if as_user else []
    result = subprocess.run(
        [*netns, sys.executable, "-c", script],
        input=json.dumps(stdin),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def release() -> Iterator[None]:
    """The running cluster with `make up`'s release; booted and deployed here when none runs."""
    yield from deployed_release()


@pytest.fixture
def routes_via_the_host(release: None) -> Iterator[None]:
    """Routes in the user's namespace for the pod and Service ranges, via the host's end."""
    ranges = [str(settings.POD_CIDR), str(settings.SERVICE_CIDR)]
    ns = ["ip", "-n", settings.USER_NETNS, "route"]
    for network in ranges:
        subprocess.run([*ns, "replace", network, "via", str(settings.USER_HOST_IP)], check=True)
    try:
        yield
    finally:
        for network in ranges:
            subprocess.run([*ns, "del", network], check=False)


def inside_endpoints() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The cluster's insides: the node's services and every pod's ports; every ClusterIP.

    The host reaches the first list (so each is there to be refused), but not the ClusterIPs,
    which the host's blackhole route keeps from host processes.
    """
    node = str(settings.NODE_IP)
    ports = settings.PORTS
    reachable = {
        (node, port)
        for port in (
            ports.apiserver,
            ports.kubelet,
            ports.postgres,
            ports.ai_standin,
            ports.kube_router_health,
        )
    }
    cluster_ips = set()
    services = json.loads(kubectl("get", "services", "--all-namespaces", "-o", "json"))["items"]
    for service in services:
        for port in service["spec"].get("ports", []):
            if port.get("protocol", "TCP") == "TCP":
                cluster_ips.add((service["spec"]["clusterIP"], port["port"]))
    pods = json.loads(kubectl("get", "pods", "--all-namespaces", "-o", "json"))["items"]
    for pod in pods:
        if pod["spec"].get("hostNetwork") or pod["status"].get("phase") != "Running":
            continue
        for container in pod["spec"]["containers"]:
            for port in container.get("ports", []):
                if port.get("protocol", "TCP") == "TCP":
                    reachable.add((pod["status"]["podIP"], port["containerPort"]))
    return sorted(reachable), sorted(cluster_ips)


def test_user_side_reaches_the_node_ports_and_nothing_inside(routes_via_the_host: None) -> None:
    reachable, cluster_ips = inside_endpoints()
    dns_pods = json.loads(
        kubectl("-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns", "-o", "json")
    )["items"]
    dns_pod_ips = [pod["status"]["podIP"] for pod in dns_pods]
    # The same probe from the host proves each endpoint is there to be refused.
    from_host = python(PROBE, {"tcp": reachable, "udp": dns_pod_ips}, as_user=False)
    assert len(from_host) > 10
    assert {k: v for k, v in from_host.items() if v != "open"} == {}

    request = {"tcp": reachable + cluster_ips, "udp": [str(settings.DNS_SERVICE_IP), *dns_pod_ips]}
    from_user = python(PROBE, request, as_user=True)

    assert {k: v for k, v in from_user.items() if v == "open"} == {}
    node_ports = python(
        PROBE,
        {"tcp": [[str(settings.USER_HOST_IP), deploy.FRONTEND_NODE_PORT]], "udp": []},
        as_user=True,
    )
    assert node_ports == {f"{NODE_PORT}": "open"}
    status = python(
        POSTS, [sign_in(NODE_PORT, "nobody@example.com", "wrong-password")], as_user=True
    )
    assert status == [401]


CONNECT = """\
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), 3).close()
    print("open")
except OSError:
    print("closed")
"""
STANDIN = (str(settings.NODE_IP), str(settings.PORTS.ai_standin))
DATABASE = (str(settings.NODE_IP), str(settings.PORTS.postgres))


def restricted_pod(container: str) -> dict[str, Any]:
    """What a pod spec needs to pass the `restricted` Pod Security profile of the namespace."""
    return {
        "spec": {
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": container,
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        }
    }


def backend_image() -> str:
    backend = kubectl(
        "-n", deploy.NAMESPACE, "get", "pods", "-l", ai_clients.SELECTOR, "-o", "name"
    ).split()[0]
    pod = json.loads(kubectl("-n", deploy.NAMESPACE, "get", backend, "-o", "json"))
    image: str = pod["spec"]["containers"][0]["image"]
    return image


@pytest.mark.parametrize(
    ("breach", "container_security"),
    [
        ("root", {"runAsUser": 0, "runAsNonRoot": False}),
        # Privileged implies escalation; the API refuses the pair otherwise, before admission.
        ("privileged", {"privileged": True, "allowPrivilegeEscalation": True}),
        ("an added capability", {"capabilities": {"drop": ["ALL"], "add": ["NET_RAW"]}}),
    ],
)
def test_the_release_namespace_refuses_pods_outside_the_restricted_profile(
    release: None, breach: str, container_security: dict[str, Any]
) -> None:
    labels = json.loads(kubectl("get", "namespace", deploy.NAMESPACE, "-o", "json"))["metadata"][
        "labels"
    ]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    name = "attack-pod-security"
    pod = restricted_pod("probe")
    pod.update(apiVersion="v1", kind="Pod", metadata={"name": name, "namespace": deploy.NAMESPACE})
    pod["spec"]["containers"][0].update(image=backend_image(), command=["true"])
    # A positive control: the same pod within the profile is admitted (a dry run: not created).
    kubectl("apply", "--dry-run=server", "-f", "-", input_text=json.dumps(pod))
    pod["spec"]["containers"][0]["securityContext"].update(container_security)
    with pytest.raises(AssertionError, match=r'violates PodSecurity "restricted:latest"'):
        kubectl("apply", "--dry-run=server", "-f", "-", input_text=json.dumps(pod))


def from_backend(target: tuple[str, str]) -> str:
    """`open` or `closed`: whether a backend pod of the release connects to `target`."""
    backend = kubectl(
        "-n", deploy.NAMESPACE, "get", "pods", "-l", ai_clients.SELECTOR, "-o", "name"
    ).split()[0]
    return kubectl(
        "-n", deploy.NAMESPACE, "exec", backend, "--", "python3", "-c", CONNECT, *target
    ).strip()


def from_probe(namespace: str, target: tuple[str, str]) -> str:
    """`open` or `closed`: whether a pod of the backend's image, without the backend's labels,
    in `namespace`, connects to `target`."""
    probe = "attack-probe"
    try:
        kubectl(
            "-n", namespace, "run", probe, f"--image={backend_image()}", "--restart=Never",
            "--override-type=strategic", f"--overrides={json.dumps(restricted_pod(probe))}",
            "--command", "--", "python3", "-c", CONNECT, *target,
        )  # fmt: skip
        finished = wait_pod_finished(namespace, probe)
        assert finished["status"]["phase"] == "Succeeded"
        return kubectl("-n", namespace, "logs", f"pod/{probe}").strip()
    finally:
        kubectl("-n", namespace, "delete", "pod", probe, "--ignore-not-found", "--wait=false")


def test_only_backend_pods_reach_the_standin(release: None) -> None:
    assert from_backend(STANDIN) == "open"
    # Another pod of the same image and namespace, without the backend's labels.
    assert from_probe(deploy.NAMESPACE, STANDIN) == "closed"


@pytest.fixture
def other_namespace(release: None) -> Iterator[str]:
    """A namespace of someone else's on the same cluster."""
    name = "attack-other-tenant"
    kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false")


def test_only_the_release_namespaces_pods_reach_the_database(other_namespace: str) -> None:
    assert from_backend(DATABASE) == "open"
    assert from_probe(other_namespace, DATABASE) == "closed"


def test_the_release_connects_with_a_role_per_app(release: None) -> None:
    deployments = kubectl(
        "-n", deploy.NAMESPACE, "get", "deployments",
        "-l", "app.kubernetes.io/component=frontend", "-o", "json",
    )  # fmt: skip
    [frontend] = json.loads(deployments)["items"]
    [key] = [
        var["valueFrom"]["secretKeyRef"]["key"]
        for var in frontend["spec"]["template"]["spec"]["containers"][0]["env"]
        if var["name"] == "DATABASE_URL"
    ]
    assert key == "FRONTEND_DATABASE_URL"
    pods = kubectl(
        "-n", deploy.NAMESPACE, "get", "pods", "-o", "jsonpath={.items[*].metadata.name}"
    )
    admin = postgres.database_url(paths_from_env(), host="127.0.0.1")
    with psycopg.connect(admin, autocommit=True) as conn:
        sessions = conn.execute(
            "SELECT application_name, usename FROM pg_stat_activity WHERE datname = %s",
            [postgres.DATABASE],
        ).fetchall()
    roles: dict[str, set[str]] = {"backend": set(), "frontend": set()}
    for application, role in sessions:
        component, _, pod = application.partition("-")
        if component in roles and pod in pods.split():
            roles[component].add(role)
    assert roles == {"backend": {postgres.BACKEND_ROLE}, "frontend": {postgres.FRONTEND_ROLE}}


def test_standin_debug_routes_need_the_debug_token(release: None) -> None:
    url = f"{ai_standin.URL}/_standin/requests"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=5)
    assert refused.value.code == 401
    headers = ai_standin.debug_headers(paths_from_env())
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as ok:
        assert set(json.load(ok)) == {"count", "requests"}


def form_post(address: str, path: str, form: dict[str, str], **headers: str) -> dict[str, Any]:
    host = headers.pop("Host", address)
    return {
        "address": address,
        "path": path,
        "form": form,
        "headers": {"Host": host, "Origin": f"http://{host}", **headers},
    }


def sign_in(address: str, email: str, password: str, **headers: str) -> dict[str, Any]:
    return form_post(address, "/signin", {"email": email, "password": password}, **headers)


def new_account() -> tuple[str, Secret]:
    return f"attack-{secrets.token_hex(6)}@example.com", Secret(secrets.token_urlsafe(16))


def test_spoofed_forwarded_for_on_the_node_port_does_not_reset_the_budget(release: None) -> None:
    email, password = new_account()
    sign_up = form_post(NODE_PORT, "/signup", {"email": email, "password": password})
    guesses = [
        sign_in(NODE_PORT, email, "wrong-password", **{"X-Forwarded-For": f"198.51.100.{n}"})
        for n in range(5)
    ]
    right = sign_in(NODE_PORT, email, password, **{"X-Forwarded-For": "198.51.100.99"})

    statuses = python(POSTS, [sign_up, *guesses, right], as_user=True)

    assert statuses == [303, *[401] * 5, 429]


def test_a_flood_through_the_ingress_does_not_lock_out_another_client(release: None) -> None:
    email, password = new_account()
    # The victim is another client: the host, whose requests reach Traefik from the node IP.
    sign_up = form_post(NODE_PORT, "/signup", {"email": email, "password": password})
    assert python(POSTS, [sign_up], as_user=False) == [303]
    via_ingress = {"Host": deploy.INGRESS_HOST}
    flood = [sign_in(INGRESS, email, "wrong-password", **via_ingress) for _ in range(5)]
    flooder_again = sign_in(INGRESS, email, password, **via_ingress)

    assert python(POSTS, [*flood, flooder_again], as_user=True) == [*[401] * 5, 429]
    assert python(POSTS, [sign_in(INGRESS, email, password, **via_ingress)], as_user=False) == [303]


# GETs /metrics at each address (with its Host header) and prints what answered: the status and
# whether the body was Prometheus' exposition format, or why nothing answered.
METRICS_PROBE = """\
import http.client, json, sys
found = {}
for address, host in json.load(sys.stdin):
    name, port = address.rsplit(":", 1)
    try:
        connection = http.client.HTTPConnection(name, int(port), timeout=5)
        connection.request("GET", "/metrics", headers={"Host": host})
        response = connection.getresponse()
        found[address] = [response.status, b"# HELP" in response.read()]
    except OSError as error:
        found[address] = [type(error).__name__, False]
print(json.dumps(found))
"""


def test_metrics_are_never_served_on_the_user_side(release: None) -> None:
    services = json.loads(kubectl("get", "services", "--all-namespaces", "-o", "json"))["items"]
    node_ports = sorted(
        port["nodePort"]
        for service in services
        for port in service["spec"]["ports"]
        if port.get("nodePort")
    )
    assert deploy.FRONTEND_NODE_PORT in node_ports
    targets = [[f"{settings.USER_HOST_IP}:{port}", deploy.INGRESS_HOST] for port in node_ports]

    found = python(METRICS_PROBE, targets, as_user=True)

    # Every NodePort, the frontend's and Traefik's (the ingress, by its host) included: none
    # answers with the app's metrics, whatever status it gives. Prometheus' web port serves
    # Prometheus' own: the operators' tool, published to the user's side on purpose.
    assert found[NODE_PORT][0] == 404
    assert found[INGRESS][0] == 404
    prometheus = f"{settings.USER_HOST_IP}:{monitoring.NODE_PORT}"
    served = {address for address, (_, metrics) in found.items() if metrics}
    assert served - {prometheus} == set()
