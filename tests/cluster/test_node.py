"""kube-proxy's config file: a rerun of `up` on a running cluster must not make it exit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from localcluster import node, supervisor
from localcluster.settings import Node, Paths

pytestmark = pytest.mark.cluster


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """Paths in a temporary folder, with the process supervisor stubbed out."""
    monkeypatch.setattr(supervisor, "start", lambda paths, process: 1)
    monkeypatch.setattr(supervisor, "wait_healthy", lambda *args, **kwargs: None)
    paths = Paths(state=tmp_path, run=tmp_path, cache=tmp_path, repo=tmp_path)
    paths.config.mkdir()
    return paths


def test_kube_proxy_config_is_written_on_first_start(paths: Paths) -> None:
    node.start_kube_proxy(paths)
    written = json.loads((paths.config / "kube-proxy.json").read_text())
    assert written == node.kube_proxy_config(paths)


def test_unchanged_kube_proxy_config_is_not_written_again(paths: Paths) -> None:
    # kube-proxy exits on any write to its config file, even one that changes nothing.
    node.start_kube_proxy(paths)
    config = paths.config / "kube-proxy.json"
    os.utime(config, ns=(1, 1))
    node.start_kube_proxy(paths)
    assert config.stat().st_mtime_ns == 1


def test_changed_kube_proxy_config_is_rewritten(paths: Paths) -> None:
    config = paths.config / "kube-proxy.json"
    config.write_text("{}\n")
    node.start_kube_proxy(paths)
    assert json.loads(config.read_text()) == node.kube_proxy_config(paths)


def test_an_extra_node_serves_node_ports_on_its_own_address_only(paths: Paths) -> None:
    config = node.kube_proxy_config(paths, Node(2))
    assert config["nodePortAddresses"] == ["10.244.0.242/32"]
    assert config["hostnameOverride"] == "todo-chatbot-2"


def test_an_extra_nodes_kubelet_has_its_own_cgroup_parent_and_containerd(paths: Paths) -> None:
    kubelet = node.kubelet_config(paths, Node(2))
    assert kubelet["cgroupRoot"] == "/todo-chatbot/todo-chatbot-2"
    assert kubelet["address"] == "10.244.0.242"
    socket = str(paths.run / "nodes" / "todo-chatbot-2" / "containerd" / "containerd.sock")
    assert kubelet["containerRuntimeEndpoint"] == f"unix://{socket}"
    assert kubelet["tlsCertFile"].endswith("kubelet-serving-todo-chatbot-2.crt")
