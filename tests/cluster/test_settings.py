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


def test_extra_nodes_have_their_own_name_address_namespace_zone_and_cgroup() -> None:
    first, second, third = (settings.Node(n) for n in (1, 2, 3))
    assert (first.name, first.ip, first.netns) == ("todo-chatbot", settings.NODE_IP, None)
    assert (second.name, str(second.ip), second.netns) == (
        "todo-chatbot-2",
        "10.244.0.242",
        "tcb-n2",
    )
    assert [first.zone, second.zone, third.zone] == ["zone-a", "zone-b", "zone-a"]
    assert second.cgroup == "todo-chatbot/todo-chatbot-2"
    assert second.process("kubelet") == "kubelet-todo-chatbot-2"
    assert first.process("kubelet") == "kubelet"
    assert settings.node_named("todo-chatbot-3") == third


def test_extra_node_addresses_lie_outside_the_first_nodes_pod_range() -> None:
    # The first node's IPAM ends below them; the controller-manager gives pods other /24s.
    assert settings.EXTRA_NODE_ADDRESSES.subnet_of(settings.NODE_POD_CIDR)
    assert settings.EXTRA_NODE_ADDRESSES.network_address > settings.FIRST_NODE_POD_RANGE_END
    last = settings.Node(settings.MAX_NODES)
    assert last.ip in settings.EXTRA_NODE_ADDRESSES
    assert last.ip != settings.EXTRA_NODE_ADDRESSES.broadcast_address


def test_a_node_number_outside_the_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"node number 6 is outside 1\.\.5"):
        settings.Node(settings.MAX_NODES + 1)
