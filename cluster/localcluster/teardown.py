"""`down`: stop everything `up` started and remove everything it added, even after a crash.

Order matters: processes first (containers included, found through our cgroup tree and our
containerd's socket), then mounts, cgroups, network, and last the folders.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from . import containerd, hostnet, snapshot, supervisor, usernet
from .errors import ClusterError
from .progress import say, step
from .settings import CGROUP_NAME, CGROUP_ROOT, Paths
from .shell import run
from .supervisor import stop

# The node's processes stop first, so nothing restarts the pods killed next; the control plane
# and the host services follow (pods that still watch the apiserver would hold its shutdown).
NODE_PROCESSES = ("kube-proxy", "kubelet")
OTHER_PROCESSES = (
    "ai-clients",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
    "ai-standin",
    "postgres",
    "containerd",
    "registry",
)
PROCESSES = NODE_PROCESSES + OTHER_PROCESSES


def cgroup_dirs() -> list[Path]:
    """Our cgroup folder in every mounted hierarchy that has one."""
    if not CGROUP_ROOT.exists():
        return []
    return [d / CGROUP_NAME for d in CGROUP_ROOT.iterdir() if (d / CGROUP_NAME).is_dir()]


def _cgroup_pids() -> set[int]:
    pids: set[int] = set()
    for top in cgroup_dirs():
        for procs in top.rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except OSError:
                continue
    return pids


def _shim_pids(socket: Path) -> set[int]:
    """containerd shims serving our containerd: their command line names its socket."""
    pids = set()
    wanted = str(socket).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and wanted in argv:
            pids.add(int(entry.name))
    return pids


def _kill(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def kill_containers(paths: Paths) -> None:
    """Kill every container process (our cgroup tree) and every shim of our containerd."""
    for _ in range(20):
        pids = _cgroup_pids() | _shim_pids(paths.containerd_socket)
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


def unmount_all(paths: Paths) -> None:
    """Unmount what the kubelet and containerd mounted under our state and run folders."""
    roots = [paths.state, paths.run]
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


def remove_cgroups() -> None:
    """Remove our cgroup tree in every hierarchy, leaves first."""
    for top in cgroup_dirs():
        for folder in sorted(top.rglob("*/"), key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir():
                folder.rmdir()
        top.rmdir()


def _remove_our_files(paths: Paths) -> None:
    """Files our pods leave in shared host folders: CNI results, shim sockets, pod log links.

    CNI results are named `<network>-<sandbox id>-<interface>`; the sandbox ids are the folder
    names containerd keeps per sandbox under our state and run folders.
    """
    cri = "io.containerd.grpc.v1.cri"
    sandbox_ids = {
        folder.name
        for root in (paths.state / "containerd" / cri, paths.run / "containerd" / cri)
        for folder in root.glob("sandboxes/*")
    }
    for result in Path("/var/lib/cni/results").glob("*"):
        if result.name.startswith("todo-chatbot-") or any(
            f"-{sandbox}-" in result.name for sandbox in sandbox_ids
        ):
            result.unlink()
    for sandbox in sandbox_ids:
        containerd.shim_socket(paths, sandbox).unlink(missing_ok=True)
    pod_logs = paths.state / "pod-logs"
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


def delete_tasks(paths: Paths) -> None:
    """Kill and delete every task through our containerd, so each shim exits and cleans up."""
    if not containerd.healthy(paths):
        return
    tasks = run(containerd.ctr(paths, "tasks", "ls", "-q"), check=False).stdout.split()
    for task in tasks:
        run(containerd.ctr(paths, "tasks", "delete", "--force", task), check=False)
    containers = run(containerd.ctr(paths, "containers", "ls", "-q"), check=False).stdout.split()
    for container in containers:
        run(containerd.ctr(paths, "containers", "delete", container), check=False)


def down(paths: Paths) -> None:
    """Stop and remove everything; safe to repeat and safe after a crashed `up`."""
    record = snapshot.load(paths)
    for name in PROCESSES:
        if name == OTHER_PROCESSES[0]:
            with step("remove the containers"):
                delete_tasks(paths)
                kill_containers(paths)
        stop_signal = signal.SIGINT if name == "postgres" else signal.SIGTERM
        if stop(paths, name, stop_signal=stop_signal):
            say(f"stopped {name}")
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
