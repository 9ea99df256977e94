"""The end user's side of the running app, tried as an attacker would (issue 12).

From the user's network namespace, with routes for the pod and Service ranges added via the
host, nothing inside the cluster answers but the NodePorts; the AI stand-in's debug routes
need their token; the sign-in limits key on the address each client really has, through the
frontend's NodePort and through Traefik alike.

Runs against the release `make up` deployed. Without a running cluster, the module boots one
and deploys the release (`python -m localcluster up`, `deploy`), and takes it down after; it is
skipped only when the cluster cannot be built here yet.
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

import pytest
from localcluster import ai_clients, ai_standin, deploy, settings, traefik
from localcluster.settings import paths_from_env
from support.live_cluster import deployed_release, kubectl
from support.secret import Secret

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1200)]

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


CONNECT_TO_THE_STANDIN = f"""\
import socket
try:
    socket.create_connection(("{settings.NODE_IP}", {settings.PORTS.ai_standin}), 3).close()
    print("open")
except OSError:
    print("closed")
"""


def test_only_backend_pods_reach_the_standin(release: None) -> None:
    backend = kubectl(
        "-n", deploy.NAMESPACE, "get", "pods", "-l", ai_clients.SELECTOR, "-o", "name"
    ).split()[0]
    from_backend = kubectl(
        "-n", deploy.NAMESPACE, "exec", backend, "--", "python3", "-c", CONNECT_TO_THE_STANDIN
    )
    assert from_backend.strip() == "open"
    # Another pod of the same image and namespace, without the backend's labels.
    image = json.loads(kubectl("-n", deploy.NAMESPACE, "get", backend, "-o", "json"))["spec"][
        "containers"
    ][0]["image"]
    probe = "attack-standin-probe"
    try:
        kubectl(
            "-n", deploy.NAMESPACE, "run", probe, f"--image={image}", "--restart=Never",
            "--command", "--", "python3", "-c", CONNECT_TO_THE_STANDIN,
        )  # fmt: skip
        kubectl(
            "-n", deploy.NAMESPACE, "wait", "--for=jsonpath={.status.phase}=Succeeded",
            f"pod/{probe}", "--timeout=120s",
        )  # fmt: skip
        assert kubectl("-n", deploy.NAMESPACE, "logs", f"pod/{probe}").strip() == "closed"
    finally:
        kubectl(
            "-n", deploy.NAMESPACE, "delete", "pod", probe, "--ignore-not-found", "--wait=false"
        )


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
