"""The set of pods that may reach the AI stand-in (localcluster.ai_clients)."""

import os

import pytest
from localcluster import ai_clients
from support.netns import in_own_network_namespace

pytestmark = pytest.mark.cluster


def pod(ip: str | None, phase: str = "Running", host_network: bool = False) -> dict[str, object]:
    status = {"phase": phase, **({"podIP": ip} if ip else {})}
    return {"spec": {"hostNetwork": host_network}, "status": status}


def test_unfinished_pods_with_their_own_address_count() -> None:
    pods = [
        pod("10.244.0.12"),
        pod("10.244.0.7", phase="Pending"),
        pod("10.244.0.12"),
        pod(None, phase="Pending"),
        pod("10.244.0.9", phase="Succeeded"),
        pod("10.244.0.10", phase="Failed"),
        pod("10.244.0.1", host_network=True),
    ]
    assert ai_clients.pod_addresses(pods) == ["10.244.0.12", "10.244.0.7"]


def test_selector_names_the_charts_backend_pods() -> None:
    assert ai_clients.SELECTOR == (
        "app.kubernetes.io/part-of=todo-chatbot,app.kubernetes.io/component=backend"
    )


SWAPPED = """\
import subprocess
from localcluster import ai_clients, hostnet

hostnet._ensure_ai_standin_chain()
for addresses in (["10.244.0.7", "10.244.0.12"], ["10.244.0.12"], []):
    subprocess.run(["ipset", "restore"], input=ai_clients.restore_script(addresses),
                   text=True, check=True)
    listed = subprocess.run(["ipset", "list", hostnet.AI_CLIENTS_SET], capture_output=True,
                            text=True, check=True).stdout
    print(sorted(listed.split("Members:")[1].split()))
print(subprocess.run(["iptables", "-t", "mangle", "-S"], capture_output=True, text=True,
                     check=True).stdout.splitlines()[-2:])
hostnet.tear_down({})
print(subprocess.run(["ipset", "list", "-n"], capture_output=True, text=True).stdout.split())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_the_set_follows_the_addresses_and_guards_the_standin_port() -> None:
    result = in_own_network_namespace(SWAPPED)
    *sets, rules, after_down = result.stdout.splitlines()
    assert sets == ["['10.244.0.12', '10.244.0.7']", "['10.244.0.12']", "[]"]
    assert rules == str(
        [
            "-A INPUT -i tcb0 -j TCB-AI-STANDIN",
            "-A TCB-AI-STANDIN -d 10.244.0.1/32 -p tcp -m tcp --dport 18090 -m set ! "
            '--match-set TCB-AI-CLIENTS src -m comment --comment "todo-chatbot: only backend '
            'pods reach the AI stand-in" -j DROP',
        ]
    )
    assert after_down == "[]"
