"""The real cluster: boot it, use it like a user would, take it down, and find the host as before.

Skipped (with the reason) only when the cluster cannot be built here yet: not root, Kubernetes
binaries not built, or component images not built. Boots with `python -m localcluster up`, the
command behind `make cluster-up`, so it needs no prior `make up`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from localcluster import hostnet, images, netns, settings, snapshot, supervisor, user_kubeconfig
from localcluster.settings import Node, Paths, paths_from_env
from support.live_api import wait_pod_finished, wait_pod_ready
from support.live_cluster import kubectl, localcluster, unbuildable_reason

pytestmark = [pytest.mark.cluster, pytest.mark.own_cluster, pytest.mark.timeout(1200)]

REPO = Path(__file__).resolve().parents[2]
OUR_CHAIN = re.compile(r"\b(KUBE-|CNI-|TCB-)[A-Z0-9-]+")
OUR_INTERFACE = re.compile(rf"-[io] ({settings.BRIDGE}|{settings.USER_VETH_HOST})\b")
COUNTERS = re.compile(r" \[\d+:\d+\]$")
MARKER = supervisor.MARKER.encode() + b"="


def _skip_reason(paths: Paths) -> str | None:
    reason = unbuildable_reason(paths)
    if reason is None and supervisor.running_pid(paths, "kube-apiserver") is not None:
        return "a local cluster is already running: run `make down` first"
    return reason


def _out(*argv: str) -> list[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()


def foreign_firewall() -> list[str]:
    """The full IPv4 and IPv6 rule sets less everything of ours, in order, without counters.

    Ours: the chains with our prefixes, the rules jumping to them and the rules naming our
    interfaces. What is left must be exactly what the host had before `up`, while the cluster
    runs too (kube-router rewrites the whole filter table on each sync).
    """
    kept = []
    for command in ("iptables-save", "ip6tables-save"):
        for line in _out(command):
            if line.startswith("#") or OUR_CHAIN.search(line) or OUR_INTERFACE.search(line):
                continue
            kept.append(COUNTERS.sub("", line))
    return kept


def host_state() -> dict[str, list[str]]:
    """What `down` must restore: links, routes, rules, firewall, ipsets, sysctls, mounts,
    processes, and the shared host folders our components write to."""
    chains = [
        line
        for cmd in ("iptables-save", "ip6tables-save")
        for line in _out(cmd)
        if OUR_CHAIN.search(line)
    ]
    return {
        "links": sorted(line.split()[1].split("@")[0] for line in _out("ip", "-o", "link")),
        "routes": sorted(_out("ip", "-4", "route", "show", "table", "all")),
        "ip rules": _out("ip", "-4", "rule", "show") + _out("ip", "-6", "rule", "show"),
        "netns": sorted(_out("ip", "netns", "list")),
        "chains": chains,
        "firewall": foreign_firewall(),
        "ipsets": sorted(_out("ipset", "list", "-n")),
        "sysctls": [f"{key}={hostnet.read_sysctl(key)}" for key in hostnet.TRACKED_SYSCTLS],
        "host folders": [
            f"{entry} {entry.is_dir() and not entry.is_symlink()}"
            for path in snapshot.HOST_PATHS
            for entry in sorted([Path(path), *_walk(Path(path))])
            if entry.exists() or entry.is_symlink()
        ],
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
        "user kubeconfig": _users_kubeconfig(),
    }


def _users_kubeconfig() -> list[str]:
    """The kubeconfig `up` adds its context to, as kubectl reads it ("absent": no such file)."""
    path = user_kubeconfig.target(paths_from_env(), os.environ)
    if path is None or not path.exists():
        return ["absent"]
    return yaml.safe_dump(yaml.safe_load(path.read_text()), sort_keys=True).splitlines()


def _walk(folder: Path) -> list[Path]:
    """Everything below a folder (not following links); nothing when it is not one."""
    if folder.is_symlink() or not folder.is_dir():
        return []
    return list(folder.rglob("*"))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


# Stand-ins for the host's own firewall rules (this machine has none): a chain of the test's,
# jumped to at the head of FORWARD and at the end of INPUT, matching only a benchmark address
# nothing uses. They must keep their content and order while the cluster runs and after `down`.
SENTINEL_CHAIN = "TODOTEST-SENTINEL"
SENTINEL_JUMPS = {"FORWARD": "-s 198.18.0.1/32", "INPUT": "-s 198.18.0.2/32"}


def _sentinel(*, add: bool) -> None:
    """Add the sentinel rules (FORWARD's at its head, INPUT's at its end), or remove them."""
    chain, jumps = SENTINEL_CHAIN, SENTINEL_JUMPS
    if add:
        lines = [
            f":{chain} - [0:0]",
            f"-A {chain} -j RETURN",
            f"-I FORWARD 1 {jumps['FORWARD']} -j {chain}",
            f"-A INPUT {jumps['INPUT']} -j {chain}",
        ]
    else:
        lines = [f"-D {builtin} {match} -j {chain}" for builtin, match in jumps.items()]
        lines += [f"-F {chain}", f"-X {chain}"]
    script = "\n".join(["*filter", *lines, "COMMIT", ""])
    subprocess.run(["iptables-restore", "--noflush"], input=script, text=True, check=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, list[str]]]:
    """Boot the cluster once for the module; yield the host state from before the boot."""
    paths = paths_from_env()
    reason = _skip_reason(paths)
    if reason:
        pytest.skip(reason)
    _sentinel(add=True)
    try:
        before = host_state()
        began = time.monotonic()
        result = localcluster("up")
        if result.returncode != 0:
            localcluster("down")
            pytest.fail(f"cluster up failed: {result.stderr.strip().splitlines()[-1]}")
        print(f"cluster up in {time.monotonic() - began:.0f}s", file=sys.stderr)
        yield before
        localcluster("down")
    finally:
        _sentinel(add=False)


def run_probe_pod(name: str, script: str, *, node: str | None = None) -> tuple[str, str]:
    """Run a Python one-off pod (the backend image has Python), on `node` if given; return its
    IP and its logs."""
    image = images.ref(paths_from_env(), "backend")
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "probe", "image": image, "command": ["python3", "-c", script]}],
        },
    }
    if node is not None:
        pod["spec"]["nodeName"] = node
    kubectl("apply", "-f", "-", input_text=json.dumps(pod))
    status = wait_pod_finished("default", name, timeout=180)["status"]
    logs = kubectl("logs", f"pod/{name}", check=False)
    kubectl("delete", f"pod/{name}", "--wait=false")
    assert status["phase"] == "Succeeded", (status.get("containerStatuses"), logs)
    return status["podIP"], logs


def test_node_is_ready_on_the_pinned_version(cluster: dict[str, list[str]]) -> None:
    node = json.loads(kubectl("get", "node", settings.NODE_NAME, "-o", "json"))
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == settings.KUBERNETES_VERSION


def test_plain_kubectl_reaches_the_cluster_as_after_kind_create_cluster(
    cluster: dict[str, list[str]],
) -> None:
    result = subprocess.run(
        [paths_from_env().bin / "kubectl", "get", "node", "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, f"node/{settings.NODE_NAME}\n")


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


def web_pod(name: str, *, node: str | None = None) -> dict[str, Any]:
    """A pod labelled app=`name` in `default` serving HTTP on 8080 (the backend image's Python),
    on `node` if given."""
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {
            "containers": [
                {
                    "name": "http",
                    "image": images.ref(paths_from_env(), "backend"),
                    "command": ["python3", "-m", "http.server", "8080"],
                    "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                }
            ]
        },
    }
    if node is not None:
        pod["spec"]["nodeName"] = node
    return pod


def test_network_policy_is_enforced(cluster: dict[str, list[str]]) -> None:
    assert_policy_enforced()


def assert_policy_enforced(server_node: str | None = None, client_node: str | None = None) -> None:
    """A client reaches a server pod until a deny-all ingress policy selects the server."""
    server = web_pod("np-server", node=server_node)
    kubectl("apply", "-f", "-", input_text=json.dumps(server))
    server_ip = wait_pod_ready("default", "np-server")["status"]["podIP"]
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
        assert run_probe_pod("np-client-1", client, node=client_node)[1].strip() == "open"
        kubectl("apply", "-f", "-", input_text=json.dumps(deny))
        # kube-router applies a new policy on its next sync, within seconds.
        outcome = "open"
        for attempt in range(4):
            outcome = run_probe_pod(f"np-client-{attempt + 2}", client, node=client_node)[1].strip()
            if outcome == "blocked":
                break
        assert outcome == "blocked"
    finally:
        kubectl(
            "delete", "networkpolicy/np-deny", "pod/np-server", "--ignore-not-found", "--wait=false"
        )


def test_top_nodes_answers(cluster: dict[str, list[str]]) -> None:
    wait_top_nodes([settings.NODE_NAME])


def wait_top_nodes(names: list[str], timeout: float = 120) -> None:
    """Wait until `kubectl top nodes` lists exactly `names` (metrics-server scraped each)."""
    # kubectl on purpose: `kubectl top` is what an operator types.
    deadline = time.monotonic() + timeout
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
        listed = sorted(line.split()[0] for line in result.stdout.splitlines() if line.strip())
        if result.returncode == 0 and listed == sorted(names):
            return
        assert time.monotonic() < deadline, (result.stdout, result.stderr)
        time.sleep(5)


def test_user_namespace_sees_only_the_host_end_of_its_link(cluster: dict[str, list[str]]) -> None:
    routes = subprocess.run(
        ["ip", "-n", settings.USER_NETNS, "-4", "route"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [r.split()[0] for r in routes] == [str(settings.USER_CIDR)]


def test_a_pod_outside_the_release_reaches_neither_postgres_nor_the_standin(
    cluster: dict[str, list[str]],
) -> None:
    # The host services admit the chart's pods only: PostgreSQL the release namespaces'
    # (hostnet.DATABASE_CLIENTS_SET), the AI stand-in the backends' (hostnet.AI_CLIENTS_SET).
    # That the release's pods do get in: test_user_side_live.py.
    script = (
        "import socket\n"
        f"for port in ({settings.PORTS.postgres}, {settings.PORTS.ai_standin}):\n"
        "    try:\n"
        f"        socket.create_connection(('{settings.NODE_IP}', port), 3).close()\n"
        "        print(port, 'open')\n"
        "    except OSError:\n"
        "        print(port, 'closed')\n"
    )
    logs = run_probe_pod("cluster-test-host-services", script)[1]
    assert logs.splitlines() == [
        f"{settings.PORTS.postgres} closed",
        f"{settings.PORTS.ai_standin} closed",
    ]


def test_user_namespace_reaches_a_node_port_but_not_the_pods(
    cluster: dict[str, list[str]],
) -> None:
    objects = [
        web_pod("np-web"),
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
        pod_ip = wait_pod_ready("default", "np-web")["status"]["podIP"]

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


def _route_get(destination: str, source: str, device: str) -> str:
    """A routing lookup as for a packet arriving on `device`; nothing is sent."""
    result = subprocess.run(
        ["ip", "route", "get", destination, "from", source, "iif", device],
        capture_output=True,
        text=True,
        check=False,
    )
    return (result.stdout or result.stderr).strip()


def test_pods_and_the_user_namespace_cannot_route_off_the_machine(
    cluster: dict[str, list[str]],
) -> None:
    pod_ip = kubectl(
        "-n",
        "kube-system",
        "get",
        "pods",
        "-l",
        "k8s-app=kube-dns",
        "-o",
        "jsonpath={.items[0].status.podIP}",
    )
    assert ipaddress.ip_address(pod_ip) in settings.NODE_POD_CIDR
    user = str(settings.USER_NS_IP)
    # 192.0.2.1 is this machine's gateway; 198.51.100.1 would take the default route.
    for destination in ("192.0.2.1", "198.51.100.1"):
        for source, device in ((pod_ip, settings.BRIDGE), (user, settings.USER_VETH_HOST)):
            assert _route_get(destination, source, device) == (
                "RTNETLINK answers: Permission denied"
            ), (destination, device)
    # What stays on the machine still routes: the node IP, other pods, the user's link.
    assert _route_get(str(settings.NODE_IP), pod_ip, settings.BRIDGE).startswith(
        f"local {settings.NODE_IP} "
    )
    assert f"dev {settings.BRIDGE} " in _route_get("10.244.0.200", user, settings.USER_VETH_HOST)
    assert f"dev {settings.USER_VETH_HOST} " in _route_get(user, pod_ip, settings.BRIDGE)


def test_the_hosts_own_firewall_rules_keep_their_content_and_order_while_up(
    cluster: dict[str, list[str]],
) -> None:
    # kube-router rewrites the whole filter table on each sync (iptables-restore -T filter);
    # wait for one triggered by a policy change, so the check follows a rewrite.
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "firewall-sync", "namespace": "default"},
        "spec": {"podSelector": {"matchLabels": {"app": "none"}}, "policyTypes": ["Ingress"]},
    }
    kubectl("apply", "-f", "-", input_text=json.dumps(policy))
    try:
        time.sleep(5)
        assert foreign_firewall() == cluster["firewall"]
    finally:
        kubectl("delete", "networkpolicy/firewall-sync", "--ignore-not-found")


def _supervised(paths: Paths) -> dict[str, int | None]:
    """The pid of each host process; not every marked pid, since the watchers' short-lived
    kubectl and ipset children carry the marker too."""
    return {
        process.name: supervisor.running_pid(paths, process.name)
        for process in settings.HOST_PROCESSES
    }


def test_a_second_up_starts_pushes_and_adds_nothing(cluster: dict[str, list[str]]) -> None:
    paths = paths_from_env()
    processes = _supervised(paths)
    # Only what `up` itself adds: pods that earlier tests deleted may still be leaving.
    keys = ("routes", "ip rules", "firewall", "sysctls")
    before = host_state()
    result = localcluster("up")
    assert result.returncode == 0, result.stderr
    assert " push " not in result.stderr
    assert _supervised(paths) == processes
    after = host_state()
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}
    assert [c for c in after["chains"] if "TCB-" in c] == [
        c for c in before["chains"] if "TCB-" in c
    ]
    forward = "\n".join(_out("iptables", "-S", "FORWARD"))
    assert forward.count(f"-j {hostnet.FORWARD_CHAIN}") == 1
    assert len(hostnet.our_rules("\n".join(after["ip rules"]))) == len(hostnet.RULES)


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


def test_a_node_that_cannot_start_is_removed_whole(cluster: dict[str, list[str]]) -> None:
    """Node 2's kubelet port is taken in its namespace: `up` fails in one line, leaves nothing."""
    before = host_state()
    node = Node(2)
    subprocess.run(["ip", "netns", "add", str(node.netns)], check=True)
    squatter = subprocess.Popen(
        [*netns.command(node.netns), sys.executable, "-c", SQUAT_KUBELET_PORT],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert squatter.stdout is not None and squatter.stdout.readline() == "listening\n"
        result = localcluster("up", "--nodes=2")
    finally:
        squatter.kill()
        squatter.wait()
    assert result.returncode == 1
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: node {node.name} could not start, so it was removed: ")
    assert f"port {settings.PORTS.kubelet} (kubelet) is already in use" in error
    assert host_state() == before
    assert kubectl("get", "nodes", "-o", "name").split() == [f"node/{settings.NODE_NAME}"]


SQUAT_KUBELET_PORT = (
    "import socket, time\n"
    f"server = socket.create_server(('0.0.0.0', {settings.PORTS.kubelet}))\n"
    "print('listening', flush=True)\n"
    "time.sleep(600)\n"
)


def test_extra_nodes_join_with_zones_dns_policy_and_metrics(cluster: dict[str, list[str]]) -> None:
    """`up --nodes 3` on the running cluster: two more Ready nodes that serve like the first."""
    result = localcluster("up", f"--nodes={EXTRA_TEST_NODES}")
    assert result.returncode == 0, result.stderr
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    expected = [Node(n) for n in range(1, EXTRA_TEST_NODES + 1)]
    by_name = {n["metadata"]["name"]: n for n in nodes}
    assert sorted(by_name) == sorted(n.name for n in expected)
    for node in expected:
        item = by_name[node.name]
        ready = {c["type"]: c["status"] for c in item["status"]["conditions"]}["Ready"]
        assert ready == "True", node.name
        assert item["metadata"]["labels"][settings.ZONE_LABEL] == node.zone
        assert item["status"]["nodeInfo"]["kubeletVersion"] == settings.KUBERNETES_VERSION
        addresses = {a["type"]: a["address"] for a in item["status"]["addresses"]}
        assert addresses["InternalIP"] == str(node.ip)
    dns = "import socket\nprint(socket.gethostbyname('kubernetes.default'))\n"
    for node in expected[1:]:
        pod_ip, logs = run_probe_pod(f"dns-{node.name}", dns, node=node.name)
        assert ipaddress.ip_address(pod_ip) in ipaddress.ip_network(
            by_name[node.name]["spec"]["podCIDR"]
        )
        assert logs.split() == [str(settings.API_SERVICE_IP)]
    # Pods on two extra nodes: kube-router of the server's node enforces the policy.
    assert_policy_enforced(server_node=expected[2].name, client_node=expected[1].name)
    wait_top_nodes([node.name for node in expected])


EXTRA_TEST_NODES = 3


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


def test_down_recovers_an_up_killed_midway(cluster: dict[str, list[str]]) -> None:
    before = host_state()
    up = subprocess.Popen(
        [sys.executable, "-m", "localcluster", "up"],
        env={**os.environ, "PYTHONPATH": str(REPO / "cluster")},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert up.stderr is not None
        # Killed while the add-ons start: containers, mounts, CNI results and chains exist.
        for line in up.stderr:
            if "add-ons (kube-router" in line:
                break
        time.sleep(5)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(up.pid, signal.SIGKILL)
        up.wait()
    assert supervisor.running_pid(paths_from_env(), "kubelet") is not None
    result = localcluster("down")
    assert result.returncode == 0, result.stderr
    assert host_state() == before
