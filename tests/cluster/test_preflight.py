"""Preflight logic: each check turns what it reads into one actionable line, or None."""

import ipaddress
import os
import re
import subprocess
from pathlib import Path

import pytest
from localcluster import preflight, settings
from localcluster.errors import ClusterError
from localcluster.settings import Paths

pytestmark = pytest.mark.cluster

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1913 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1
   1: 0100007F:E1D2 0100007F:1913 01 00000000:00000000 00:00000000 00000000     0        0 2
"""
RANGES = {
    "pod": ipaddress.IPv4Network("10.244.0.0/16"),
    "Service": ipaddress.IPv4Network("10.96.0.0/16"),
}


def test_check_root_refuses_a_normal_user() -> None:
    assert preflight.check_root(0) is None
    assert "needs root" in (preflight.check_root(1000) or "")


def test_listening_ports_keeps_only_listen_sockets() -> None:
    # 0x1913 = 6419 listens; 0xE1D2 is the client end of an established connection.
    assert preflight.listening_ports([PROC_NET_TCP]) == {6419}


def test_check_ports_names_the_port_its_owner_and_what_to_do() -> None:
    problem = preflight.check_ports({6443, 22}, {6443: "apiserver", 2379: "etcd-client"})
    assert problem is not None
    assert problem.startswith("port 6443 (apiserver) is already in use")
    assert "make down" in problem


def test_check_ports_skips_ports_of_our_running_components() -> None:
    assert preflight.check_ports({6443}, {6443: "apiserver"}, ours=[6443]) is None


def test_check_memory_states_in_one_line_what_the_nodes_need() -> None:
    assert preflight.check_memory(3072) is None
    assert preflight.check_memory(3500, nodes=3, new_extra_nodes=2, per_extra_node_mib=512) == (
        "NODES=3 needs 4096 MiB of memory (3072 for the control plane and the first node, "
        "512 per extra node not yet running), only 3500 MiB available: stop other workloads "
        "or lower NODES"
    )


def test_check_memory_on_a_running_cluster_counts_only_the_nodes_to_add() -> None:
    assert preflight.check_memory(600, nodes=3, new_extra_nodes=1, booted=True) is None
    assert preflight.check_memory(100, nodes=1, booted=True) is None
    problem = preflight.check_memory(400, nodes=2, new_extra_nodes=1, booted=True)
    assert problem is not None and problem.startswith("NODES=2 needs 512 MiB")


def test_available_memory_reads_memavailable() -> None:
    text = "MemTotal:       24683660 kB\nMemAvailable:   3145728 kB\n"
    assert preflight.available_memory_mib(text) == 3072


def test_check_disk_names_the_folder() -> None:
    problem = preflight.check_disk(Path("/var/lib/x"), 100, 8192)
    assert problem == "only 100 MiB free under /var/lib/x, the cluster needs 8192 MiB"


def test_check_routes_accepts_a_host_with_unrelated_routes() -> None:
    routes = [
        "default via 192.0.2.1 dev eth0",
        "192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2",
        "local 192.0.2.2 dev eth0 table local proto kernel scope host src 192.0.2.2",
        "broadcast 192.0.2.255 dev eth0 table local proto kernel scope link src 192.0.2.2",
    ]
    assert preflight.check_routes(routes, RANGES, own_devices=["tcb0"]) is None


def test_check_routes_rejects_an_overlapping_route() -> None:
    routes = ["10.96.0.0/12 dev docker0 proto kernel scope link src 10.96.0.1"]
    problem = preflight.check_routes(routes, RANGES, own_devices=["tcb0"])
    assert problem is not None
    assert problem.startswith("the Service range 10.96.0.0/16 overlaps the host route")


def test_check_routes_ignores_routes_left_by_our_previous_up() -> None:
    routes = [
        "blackhole 10.96.0.0/16",
        "blackhole 10.244.0.0/16",
        "10.244.0.0/24 dev tcb0 proto kernel scope link src 10.244.0.1",
    ]
    assert preflight.check_routes(routes, RANGES, own_devices=["tcb0"]) is None


def test_check_routes_rejects_someone_elses_blackhole_inside_our_range() -> None:
    problem = preflight.check_routes(["blackhole 10.244.5.0/24"], RANGES, own_devices=[])
    assert problem is not None
    assert "pod range" in problem


def test_chosen_ranges_do_not_overlap_each_other() -> None:
    ranges = [settings.POD_CIDR, settings.SERVICE_CIDR, settings.USER_CIDR]
    for i, a in enumerate(ranges):
        for b in ranges[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    assert settings.NODE_POD_CIDR.subnet_of(settings.POD_CIDR)


def sysctls(folder: Path) -> Path:
    """A /proc/sys stand-in with the two entries the kernel check looks for."""
    for entry in ("net/bridge/bridge-nf-call-iptables", "net/ipv4/ip_forward"):
        (folder / entry).parent.mkdir(parents=True, exist_ok=True)
        (folder / entry).write_text("1\n")
    return folder


def test_check_kernel_accepts_this_kind_of_host(tmp_path: Path) -> None:
    sysctls(tmp_path)
    problem = preflight.check_kernel(
        sysctl_dir=tmp_path,
        filesystems_text="nodev\tsysfs\n\text4\nnodev\toverlay\n",
        cgroup_mounts=preflight.CGROUP_CONTROLLERS,
    )
    assert problem is None


def test_check_kernel_fails_without_bridge_netfilter(tmp_path: Path) -> None:
    problem = preflight.check_kernel(
        sysctl_dir=tmp_path, filesystems_text="nodev\toverlay\n", cgroup_mounts=[]
    )
    assert problem is not None
    assert "modprobe br_netfilter" in problem


def test_check_kernel_lists_missing_cgroup_controllers(tmp_path: Path) -> None:
    sysctls(tmp_path)
    problem = preflight.check_kernel(
        sysctl_dir=tmp_path,
        filesystems_text="nodev\toverlay\n",
        cgroup_mounts=["cpu", "cpuacct", "memory"],
    )
    assert problem is not None
    assert "cpuset, devices, freezer, pids, blkio" in problem


def test_check_binaries_points_to_the_target_that_builds_or_installs(tmp_path: Path) -> None:
    problem = preflight.check_binaries(bin_dir=tmp_path, built=["kubelet"], host=[])
    assert problem == f"kubelet is not built in {tmp_path}: run `make cluster-tools`"
    kubelet = tmp_path / "kubelet"
    kubelet.write_text("#!/bin/sh\n")
    kubelet.chmod(0o755)
    problem = preflight.check_binaries(
        bin_dir=tmp_path, built=["kubelet"], host=["containerd"], which=lambda _: None
    )
    assert problem == "containerd is not installed: run `make setup-cluster`"
    assert (
        preflight.check_binaries(
            bin_dir=tmp_path,
            built=["kubelet"],
            host=["containerd"],
            which=lambda n: f"/usr/bin/{n}",
        )
        is None
    )


def test_check_route_table_accepts_our_own_rules_and_routes() -> None:
    rules = ["0:\tfrom all lookup local", "2244:\tfrom all iif tcb0 lookup 2244"]
    table = ["blackhole 10.96.0.0/16", "10.244.0.0/24 dev tcb0 scope link src 10.244.0.1"]
    assert preflight.check_route_table(rules, table) is None


def test_check_route_table_refuses_a_table_someone_else_uses() -> None:
    rule = "100:\tfrom 192.0.2.0/24 lookup 2244"
    problem = preflight.check_route_table([rule], [])
    assert problem is not None
    assert problem.startswith(f"routing table 2244 is used by the host rule `{rule.strip()}`")
    problem = preflight.check_route_table([], ["default via 192.0.2.1 dev eth0"])
    assert problem is not None
    assert "already holds the route `default via 192.0.2.1 dev eth0`" in problem


def test_kernel_probe_script_reports_the_first_probe_that_fails() -> None:
    probes = [("a", "mod_a", "true"), ("b", "mod_b", "false"), ("c", "mod_c", "false")]
    script = preflight.kernel_probe_script(probes)
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout == "1\n"
    problem = preflight.check_kernel_features(result.stdout, probes)
    assert problem is not None
    assert problem.startswith("kernel lacks b (needed by kube-proxy")
    assert "`modprobe -a mod_b`" in problem


def test_check_kernel_features_names_the_module_to_load() -> None:
    assert preflight.check_kernel_features("") is None
    problem = preflight.check_kernel_features("2\n")
    assert problem is not None
    assert problem.startswith("kernel lacks the iptables set match")
    assert "`modprobe -a xt_set`" in problem


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_kernel_probes_pass_here_and_leave_the_host_untouched() -> None:
    def host() -> list[str]:
        commands = (["iptables-save"], ["ipset", "list", "-n"], ["ip", "-o", "link"])
        outputs = [
            subprocess.run(c, capture_output=True, text=True, check=True).stdout for c in commands
        ]
        # Packet counters and timestamps change on their own.
        rules = re.sub(r"\[\d+:\d+\]|^#.*$", "", outputs[0], flags=re.MULTILINE)
        return [rules, *outputs[1:], str(Path("/run/xtables.lock").exists())]

    before = host()
    assert preflight.check_kernel_features(preflight.probe_kernel()) is None
    assert host() == before


def _quiet_host(monkeypatch: pytest.MonkeyPatch, *, available_mib: int) -> None:
    """Every check passes except, maybe, memory."""
    for check in ("check_root", "check_binaries", "check_kernel", "check_disk", "check_routes"):
        monkeypatch.setattr(preflight, check, lambda *a, **k: None)
    monkeypatch.setattr(preflight, "probe_kernel", lambda: "")
    monkeypatch.setattr(preflight, "available_memory_mib", lambda text: available_mib)
    monkeypatch.setattr(preflight, "listening_ports", lambda texts: set())
    monkeypatch.setattr(preflight, "check_route_table", lambda rules, table: None)
    monkeypatch.setattr(preflight.shell, "output", lambda argv: "")
    monkeypatch.setattr(preflight.hostnet, "table_routes", lambda: "")


def test_memory_is_checked_before_a_cold_up(monkeypatch: pytest.MonkeyPatch) -> None:
    _quiet_host(monkeypatch, available_mib=1024)
    paths = Paths(state=Path("/nonexistent"), run=Path("/nonexistent"), cache=Path(), repo=Path())
    needed = r"NODES=1 needs 3072 MiB of memory .* only 1024 MiB available"
    with pytest.raises(ClusterError, match=needed):
        preflight.run(paths)


def test_memory_is_not_checked_when_the_control_plane_already_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _quiet_host(monkeypatch, available_mib=1024)
    paths = Paths(state=Path("/nonexistent"), run=Path("/nonexistent"), cache=Path(), repo=Path())
    preflight.run(paths, booted=True)
