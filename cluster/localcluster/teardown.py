"""`down`: stop everything `up` started and remove everything it added, even after a crash.

Order matters: the extra nodes first, each whole (`remove_extra_node`, which also undoes a
node that failed to start), then the first node's and the control plane's processes (containers
included, found through our cgroup tree and our containerds' sockets), then mounts, cgroups,
network, and last the folders.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import containerd, hostnet, netns, snapshot, supervisor, user_kubeconfig, usernet
from .errors import ClusterError
from .progress import say, step
from .settings import (
    CGROUP_NAME,
    CGROUP_ROOT,
    FIRST_NODE,
    HOST_PROCESSES,
    MAX_NODES,
    NODE_PROCESS_COMPONENTS,
    Node,
    Paths,
)
from .shell import run
from .supervisor import stop


def cgroup_dirs(cgroup: str = CGROUP_NAME) -> list[Path]:
    """The folder `cgroup` (ours, or a node's below it) in every hierarchy that has one."""
    if not CGROUP_ROOT.exists():
        return []
    return [d / cgroup for d in CGROUP_ROOT.iterdir() if (d / cgroup).is_dir()]


def _cgroup_pids(cgroup: str = CGROUP_NAME) -> set[int]:
    pids: set[int] = set()
    for top in cgroup_dirs(cgroup):
        for procs in top.rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except OSError:
                continue
    return pids


def _shim_pids(folder: Path) -> set[int]:
    """containerd shims serving a containerd whose socket lies below `folder`.

    Their command line names that socket (`-address <socket>`).
    """
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            argv
            and argv[0].endswith(b"containerd-shim-runc-v2")
            and any(Path(os.fsdecode(a)).is_relative_to(folder) for a in argv[1:] if a)
        ):
            pids.add(int(entry.name))
    return pids


def _kill(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def kill_containers(paths: Paths, node: Node | None = None) -> None:
    """Kill every container process and containerd shim: of every node, or of `node` only.

    Containers are found in the node's cgroup tree (every node's is below ours), shims by the
    containerd socket they serve (every node's is below our run folder).
    """
    cgroup = CGROUP_NAME if node is None else node.cgroup
    sockets = paths.run if node is None else node.containerd_socket(paths).parent
    for _ in range(20):
        pids = _cgroup_pids(cgroup) | _shim_pids(sockets)
        if not pids:
            return
        _kill(pids)
        time.sleep(0.25)
    raise ClusterError("container processes survive SIGKILL: check `ps` for processes in D state")


def owned_mounts(points: list[str], roots: list[Path]) -> list[str]:
    """Mount points strictly below one of our folders, deepest first.

    Everything mounted there is ours (pod volumes, rootfs overlays, pod network namespaces). A
    point mounted several times is listed once per mount, so each umount peels one layer.
    """
    inside = [p for p in points if any(Path(p).is_relative_to(r) and Path(p) != r for r in roots)]
    return sorted(inside, key=lambda p: (p.count("/"), p), reverse=True)


def unmount_all(paths: Paths, node: Node | None = None) -> None:
    """Unmount what kubelets and containerds mounted under our (or one node's) folders."""
    roots = [paths.state, paths.run] if node is None else [node.state(paths), node.run(paths)]
    todo: list[str] = []
    for _ in range(5):
        todo = owned_mounts(snapshot.mountpoints(Path("/proc/mounts").read_text()), roots)
        if not todo:
            return
        for point in todo:
            run(["umount", point], check=False)
    raise ClusterError(f"could not unmount {todo[0]}: check `findmnt {todo[0]}` and `fuser -m`")


def _unmount_netns_folder(record: dict[str, Any]) -> None:
    """Undo the bind mount `ip netns add` puts on /run/netns, when it was ours and is now empty."""
    netns = Path("/run/netns")
    points = snapshot.mountpoints(Path("/proc/mounts").read_text())
    if str(netns) in record.get("mounts", [str(netns)]) or str(netns) not in points:
        return
    if not any(netns.iterdir()):
        run(["umount", str(netns)], check=False)


def remove_cgroups(cgroup: str = CGROUP_NAME) -> None:
    """Remove our cgroup tree (or a node's) in every hierarchy, leaves first."""
    for top in cgroup_dirs(cgroup):
        for folder in sorted(top.rglob("*/"), key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir():
                folder.rmdir()
        top.rmdir()


def _remove_our_files(paths: Paths, node: Node = FIRST_NODE) -> None:
    """Files a node's pods leave in shared host folders: CNI results, shim sockets, log links.

    CNI results are named `<network>-<sandbox id>-<interface>`; the sandbox ids are the folder
    names the node's containerd keeps per sandbox under its state and run folders.
    """
    cri = "io.containerd.grpc.v1.cri"
    state, run_dir = node.state(paths), node.run(paths)
    sandbox_ids = {
        folder.name
        for root in (state / "containerd" / cri, run_dir / "containerd" / cri)
        for folder in root.glob("sandboxes/*")
    }
    for result in Path("/var/lib/cni/results").glob("*"):
        if (node.first and result.name.startswith("todo-chatbot-")) or any(
            f"-{sandbox}-" in result.name for sandbox in sandbox_ids
        ):
            result.unlink()
    for sandbox in sandbox_ids:
        containerd.shim_socket(node.containerd_socket(paths), sandbox).unlink(missing_ok=True)
    pod_logs = state / "pod-logs"
    for link in Path("/var/log/containers").glob("*.log"):
        if link.is_symlink() and Path(os.readlink(link)).is_relative_to(pod_logs):
            link.unlink()


def _remove_created_host_paths(record: dict[str, Any]) -> None:
    """Remove the host paths `up` created, leaves first, and only where nothing else lives.

    A folder that still holds a file (another tool's socket, say) is left alone.
    """
    for path_text, existed in record.get("host_paths", {}).items():
        path = Path(path_text)
        if existed or not (path.exists() or path.is_symlink()):
            continue
        if not path.is_dir():
            path.unlink()
            continue
        folders = sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts))
        for folder in [*reversed(folders), path]:
            with contextlib.suppress(OSError):
                folder.rmdir()


def delete_tasks(paths: Paths, node: Node = FIRST_NODE) -> None:
    """Kill and delete every task through the node's containerd, so each shim cleans up."""
    if not containerd.healthy(paths, node):
        return

    def ctr(*args: str) -> list[str]:
        return containerd.ctr(paths, *args, node=node)

    for task in run(ctr("tasks", "ls", "-q"), check=False).stdout.split():
        run(ctr("tasks", "delete", "--force", task), check=False)
    for container in run(ctr("containers", "ls", "-q"), check=False).stdout.split():
        run(ctr("containers", "delete", container), check=False)


def extra_nodes(paths: Paths) -> list[Node]:
    """The extra nodes with anything left on this host: a state folder, namespace or veth."""
    candidates = [Node(number) for number in range(2, MAX_NODES + 1)]
    return [
        node
        for node in candidates
        if node.state(paths).exists()
        or (netns.NETNS_DIR / str(node.netns)).exists()
        or hostnet.link_exists(node.host_veth)
    ]


def remove_extra_node(paths: Paths, node: Node) -> None:
    """Stop and remove everything of one extra node; safe to repeat and after a failed start.

    Its Node object is the caller's (the apiserver may be gone already).
    """
    for component in NODE_PROCESS_COMPONENTS:
        if component == "containerd":
            delete_tasks(paths, node)
            kill_containers(paths, node)
        stop(paths, node.process(component))
    kill_containers(paths, node)
    unmount_all(paths, node)
    remove_cgroups(node.cgroup)
    hostnet.remove_node_routes(node)
    # The veth first, which takes its peer along at once: a namespace's devices go some time
    # after `ip netns del`, in the kernel's own time.
    if hostnet.link_exists(node.host_veth):
        run(["ip", "link", "del", node.host_veth])
    if node.netns is not None and (netns.NETNS_DIR / node.netns).exists():
        run(["ip", "netns", "del", node.netns])
    _remove_our_files(paths, node)
    for folder in (node.run(paths), node.state(paths)):
        shutil.rmtree(folder, ignore_errors=True)


def down(paths: Paths, env: Mapping[str, str]) -> None:
    """Stop and remove everything; safe to repeat and safe after a crashed `up`.

    `env` is the user's environment, whose kubeconfig `up` may have added a context to.
    """
    record = snapshot.load(paths)
    user_kubeconfig.remove(paths, env)
    for extra in extra_nodes(paths):
        with step(f"remove node {extra.name}"):
            remove_extra_node(paths, extra)
    node_stopped = False
    for process in reversed(HOST_PROCESSES):
        if not process.node and not node_stopped:
            with step("remove the containers"):
                delete_tasks(paths)
                kill_containers(paths)
            node_stopped = True
        if stop(paths, process.name, stop_signal=process.stop_signal):
            say(f"stopped {process.name}")
    leftovers = supervisor.stop_marked(paths)
    if leftovers:
        say(f"stopped {len(leftovers)} process(es) without a pid file")
    kill_containers(paths)
    with step("unmount, remove cgroups, network, firewall rules and folders"):
        usernet.tear_down()
        unmount_all(paths)
        _unmount_netns_folder(record)
        remove_cgroups()
        hostnet.tear_down(record)
        _remove_our_files(paths)
        _remove_created_host_paths(record)
        for folder in (paths.run, paths.state):
            shutil.rmtree(folder, ignore_errors=True)
