"""The set of pods that may reach the host's PostgreSQL (localcluster.database_clients)."""

import os

import pytest
from localcluster import database_clients, release
from support.netns import in_own_network_namespace

pytestmark = pytest.mark.cluster


def namespace(name: str, **labels: str) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": labels}}


def test_only_the_release_namespaces_count() -> None:
    namespaces = [
        namespace(release.NAMESPACE),
        namespace("e2e-fleet", **{database_clients.RELEASE_NAMESPACE_LABEL: "true"}),
        namespace("e2e-old", **{database_clients.RELEASE_NAMESPACE_LABEL: "false"}),
        namespace("kube-system"),
        namespace("attacker", **{"app.kubernetes.io/part-of": "todo-chatbot"}),
    ]
    assert database_clients.release_namespaces(namespaces) == {release.NAMESPACE, "e2e-fleet"}


RULES = """\
import subprocess
from localcluster import hostnet

hostnet._ensure_database_chain()
print(subprocess.run(["iptables", "-t", "mangle", "-S"], capture_output=True, text=True,
                     check=True).stdout.splitlines()[-2:])
print(subprocess.run(["ipset", "list", "-n"], capture_output=True, text=True).stdout.split())
hostnet.tear_down({})
print(subprocess.run(["ipset", "list", "-n"], capture_output=True, text=True).stdout.split())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
def test_the_database_port_is_dropped_for_pods_outside_the_set() -> None:
    rules, sets, after_down = in_own_network_namespace(RULES).stdout.splitlines()
    assert rules == str(
        [
            "-A INPUT -i tcb0 -j TCB-DATABASE",
            "-A TCB-DATABASE -d 10.244.0.1/32 -p tcp -m tcp --dport 15432 -m set ! "
            '--match-set TCB-DATABASE-CLIENTS src -m comment --comment "todo-chatbot: only pods '
            'of the release namespaces reach PostgreSQL" -j DROP',
        ]
    )
    # Empty until the watcher fills it: no pod gets in before.
    assert sets == str(["TCB-DATABASE-CLIENTS"])
    assert after_down == "[]"
