"""`down` helpers: which mounts are ours, and in which order they come off."""

from pathlib import Path

import pytest
from localcluster import snapshot, teardown

pytestmark = pytest.mark.cluster

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
tmpfs /sys/fs/cgroup tmpfs rw 0 0
/dev/vda /var/lib/todo-chatbot/kubelet ext4 rw 0 0
tmpfs /var/lib/todo-chatbot/kubelet/pods/u1/volumes/kubernetes.io~projected/api tmpfs rw 0 0
overlay /run/todo-chatbot/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs overlay rw 0 0
nsfs /run/todo-chatbot/containerd/io.containerd.grpc.v1.cri/netns/cni-1 nsfs rw 0 0
/dev/vda /var/lib/todo-chatbot-other ext4 rw 0 0
/dev/vda /var/lib/todo\\040chatbot ext4 rw 0 0
"""


def test_mountpoints_decodes_octal_escapes() -> None:
    points = snapshot.mountpoints(MOUNTS)
    assert points[0] == "/"
    assert points[-1] == "/var/lib/todo chatbot"


def test_owned_mounts_are_below_our_folders_deepest_first() -> None:
    roots = [Path("/var/lib/todo-chatbot"), Path("/run/todo-chatbot")]
    owned = teardown.owned_mounts(snapshot.mountpoints(MOUNTS), roots)
    assert owned == [
        "/var/lib/todo-chatbot/kubelet/pods/u1/volumes/kubernetes.io~projected/api",
        "/run/todo-chatbot/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs",
        "/run/todo-chatbot/containerd/io.containerd.grpc.v1.cri/netns/cni-1",
        "/var/lib/todo-chatbot/kubelet",
    ]


def test_owned_mounts_never_include_a_root_itself_or_a_sibling_folder() -> None:
    points = ["/var/lib/todo-chatbot", "/var/lib/todo-chatbot-other", "/var/lib"]
    assert teardown.owned_mounts(points, [Path("/var/lib/todo-chatbot")]) == []
