"""Settings: every process the runtime supervises, its ports, and the order `down` stops them."""

import pytest
from localcluster import settings

pytestmark = pytest.mark.cluster


def test_every_port_but_kube_routers_belongs_to_one_host_process() -> None:
    owned = [port for process in settings.HOST_PROCESSES for port in process.ports]
    assert len(owned) == len(set(owned))
    # kube-router runs as a pod on the host network, not as a supervised process.
    assert set(settings.PORTS.owners()) - set(owned) == {settings.PORTS.kube_router_health}


def test_the_node_processes_start_last_so_down_stops_them_first() -> None:
    node = [process.node for process in settings.HOST_PROCESSES]
    assert node == sorted(node)
    assert [p.name for p in settings.HOST_PROCESSES if p.node] == ["kubelet", "kube-proxy"]
