"""The real cluster: boot it, use it like a user would, take it down, and find the host as before.

Skipped (with the reason) only when the cluster cannot be built here yet: not root, Kubernetes
binaries not built, or component images not built. Boots with `python -m localcluster up`, the
command behind `make cluster-up`, so it needs no prior `make up`.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from localcluster import images, settings, supervisor
from localcluster.settings import Paths, paths_from_env
from support.live_cluster import kubectl, localcluster, unbuildable_reason

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]
OUR_CHAIN = re.compile(r"\b(KUBE-|CNI-|TCB-)[A-Z0-9-]+")
MARKER = supervisor.MARKER.encode() + b"="


def _skip_reason(paths: Paths) -> str | None:
    reason = unbuildable_reason(paths)
    if reason is None and supervisor.running_pid(paths, "kube-apiserver") is not None:
        return "a local cluster is already running: run `make down` first"
    return reason


def host_state() -> dict[str, list[str]]:
    """What `down` must restore: links, routes, netns, our iptables chains, mounts, processes."""

    def out(*argv: str) -> list[str]:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()

    chains = [
        line
        for cmd in ("iptables-save", "ip6tables-save")
        for line in out(cmd)
        if OUR_CHAIN.search(line)
    ]
    return {
        "links": sorted(line.split()[1].split("@")[0] for line in out("ip", "-o", "link")),
        "routes": sorted(out("ip", "-4", "route", "show", "table", "all")),
        "netns": sorted(out("ip", "netns", "list")),
        "chains": chains,
        "mounts": sorted(
            line.split()[1]
            for line in Path("/proc/mounts").read_text().splitlines()
            if "todo-chatbot" in line or "/run/netns" in line
        ),
        "processes": sorted(
            str(p.parent)
            for p in Path("/proc").glob("[0-9]*/environ")
            if MARKER in _read(p.parent / "environ")
            or b"/todo-chatbot/" in _read(p.parent / "cgroup")
        ),
    }


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, list[str]]]:
    """Boot the cluster once for the module; yield the host state from before the boot."""
    paths = paths_from_env()
    reason = _skip_reason(paths)
    if reason:
        pytest.skip(reason)
    before = host_state()
    began = time.monotonic()
    result = localcluster("up")
    if result.returncode != 0:
        localcluster("down")
        pytest.fail(f"cluster up failed: {result.stderr.strip().splitlines()[-1]}")
    print(f"cluster up in {time.monotonic() - began:.0f}s", file=sys.stderr)
    yield before
    localcluster("down")


def run_probe_pod(name: str, script: str) -> tuple[str, str]:
    """Run a Python one-off pod (the backend image has Python); return its IP and its logs."""
    image = images.ref(paths_from_env(), "backend")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "probe", "image": image, "command": ["python3", "-c", script]}],
        },
    }
    kubectl("apply", "-f", "-", input_text=json.dumps(pod))
    kubectl(
        "wait",
        "--for=jsonpath={.status.phase}=Succeeded",
        f"pod/{name}",
        "--timeout=180s",
        check=False,
    )
    status = json.loads(kubectl("get", f"pod/{name}", "-o", "json"))["status"]
    logs = kubectl("logs", f"pod/{name}", check=False)
    kubectl("delete", f"pod/{name}", "--wait=false")
    assert status["phase"] == "Succeeded", (status.get("containerStatuses"), logs)
    return status["podIP"], logs


def test_node_is_ready_on_the_pinned_version(cluster: dict[str, list[str]]) -> None:
    node = json.loads(kubectl("get", "node", settings.NODE_NAME, "-o", "json"))
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == settings.KUBERNETES_VERSION


def test_a_pod_gets_an_ip_resolves_cluster_names_and_reaches_a_service(
    cluster: dict[str, list[str]],
) -> None:
    script = (
        "import socket\n"
        "print(socket.gethostbyname('kubernetes.default'))\n"
        "socket.create_connection(('kubernetes.default.svc.cluster.local', 443), 5).close()\n"
        "print('service reachable')\n"
        "try:\n"
        "    socket.gethostbyname('example.com')\n"
        "    print('outside name resolved')\n"
        "except OSError:\n"
        "    print('outside name not resolved')\n"
    )
    pod_ip, logs = run_probe_pod("cluster-test-dns", script)
    assert ipaddress.ip_address(pod_ip) in settings.NODE_POD_CIDR
    assert logs.splitlines() == [
        str(settings.API_SERVICE_IP),
        "service reachable",
        "outside name not resolved",
    ]


def test_network_policy_is_enforced(cluster: dict[str, list[str]]) -> None:
    image = images.ref(paths_from_env(), "backend")
    server = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "np-server", "namespace": "default", "labels": {"app": "np-server"}},
        "spec": {
            "containers": [
                {
                    "name": "http",
                    "image": image,
                    "command": ["python3", "-m", "http.server", "8080"],
                    "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                }
            ]
        },
    }
    kubectl("apply", "-f", "-", input_text=json.dumps(server))
    kubectl("wait", "--for=condition=Ready", "pod/np-server", "--timeout=120s")
    server_ip = kubectl("get", "pod/np-server", "-o", "jsonpath={.status.podIP}")
    client = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('{server_ip}', 8080), 3).close()\n"
        "    print('open')\n"
        "except OSError:\n"
        "    print('blocked')\n"
    )
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "np-deny", "namespace": "default"},
        "spec": {"podSelector": {"matchLabels": {"app": "np-server"}}, "policyTypes": ["Ingress"]},
    }
    try:
        assert run_probe_pod("np-client-1", client)[1].strip() == "open"
        kubectl("apply", "-f", "-", input_text=json.dumps(deny))
        # kube-router applies a new policy on its next sync, within seconds.
        outcome = "open"
        for attempt in range(4):
            outcome = run_probe_pod(f"np-client-{attempt + 2}", client)[1].strip()
            if outcome == "blocked":
                break
        assert outcome == "blocked"
    finally:
        kubectl(
            "delete", "networkpolicy/np-deny", "pod/np-server", "--ignore-not-found", "--wait=false"
        )


def test_top_nodes_answers(cluster: dict[str, list[str]]) -> None:
    deadline = time.monotonic() + 120
    while True:
        result = subprocess.run(
            [
                str(paths_from_env().bin / "kubectl"),
                f"--kubeconfig={paths_from_env().kubeconfig}",
                "top",
                "nodes",
                "--no-headers",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0 and result.stdout.startswith(settings.NODE_NAME):
            return
        assert time.monotonic() < deadline, result.stderr
        time.sleep(5)


def test_user_namespace_sees_only_the_host_end_of_its_link(cluster: dict[str, list[str]]) -> None:
    routes = subprocess.run(
        ["ip", "-n", settings.USER_NETNS, "-4", "route"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [r.split()[0] for r in routes] == [str(settings.USER_CIDR)]


def test_pods_reach_the_host_services_on_the_node_ip(cluster: dict[str, list[str]]) -> None:
    script = (
        "import socket\n"
        f"for port in ({settings.PORTS.postgres}, {settings.PORTS.ai_standin}):\n"
        f"    socket.create_connection(('{settings.NODE_IP}', port), 3).close()\n"
        "    print(port, 'open')\n"
    )
    logs = run_probe_pod("cluster-test-host-services", script)[1]
    assert logs.splitlines() == [
        f"{settings.PORTS.postgres} open",
        f"{settings.PORTS.ai_standin} open",
    ]


def test_user_namespace_reaches_a_node_port_but_not_the_pods(
    cluster: dict[str, list[str]],
) -> None:
    image = images.ref(paths_from_env(), "backend")
    objects = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "np-web", "namespace": "default", "labels": {"app": "np-web"}},
            "spec": {
                "containers": [
                    {
                        "name": "http",
                        "image": image,
                        "command": ["python3", "-m", "http.server", "8080"],
                        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                    }
                ]
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "np-web", "namespace": "default"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "np-web"},
                "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30082}],
            },
        },
    ]
    kubectl(
        "apply",
        "-f",
        "-",
        input_text=json.dumps({"kind": "List", "apiVersion": "v1", "items": objects}),
    )
    try:
        kubectl("wait", "--for=condition=Ready", "pod/np-web", "--timeout=120s")
        pod_ip = kubectl("get", "pod/np-web", "-o", "jsonpath={.status.podIP}")

        def curl(url: str) -> str:
            return subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    settings.USER_NETNS,
                    "curl",
                    "-s",
                    "-m",
                    "5",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    url,
                ],
                capture_output=True,
                text=True,
                check=False,
            ).stdout

        # kube-proxy programs a new Service on its next sync, within a second or two.
        deadline = time.monotonic() + 20
        while curl(f"http://{settings.USER_HOST_IP}:30082/") != "200":
            assert time.monotonic() < deadline, "the NodePort never answered"
            time.sleep(1)
        assert curl(f"http://{pod_ip}:8080/") == "000"
    finally:
        kubectl("delete", "service/np-web", "pod/np-web", "--ignore-not-found", "--wait=false")


def test_generated_secrets_are_private_and_never_logged(cluster: dict[str, list[str]]) -> None:
    paths = paths_from_env()
    values = []
    for secret in sorted(paths.secrets.iterdir()):
        assert secret.stat().st_mode & 0o077 == 0, secret
        values.append(secret.read_text())
    assert values
    for log in paths.logs.glob("*.log"):
        text = log.read_text(errors="replace")
        assert not any(value in text for value in values), log


def test_down_leaves_the_host_as_it_was(cluster: dict[str, list[str]]) -> None:
    result = localcluster("down")
    assert result.returncode == 0, result.stderr
    assert host_state() == cluster
    paths = paths_from_env()
    assert not paths.state.exists()
    assert not paths.run.exists()
    assert not list(Path("/sys/fs/cgroup").glob("*/todo-chatbot"))
    # A second down on a clean host is a no-op.
    assert localcluster("down").returncode == 0
