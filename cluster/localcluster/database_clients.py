"""Which pods may reach the host's PostgreSQL: those of the release namespaces, in an ipset.

PostgreSQL is a host process: a pod reaches it on the node IP, a host address, so neither a
NetworkPolicy (kube-router enforces those on pods' traffic, not on a host process's port) nor
pg_hba (which knows only address ranges, while every namespace's pods share the node's pod
range and get a new address each start) can tell the release's pods from another
namespace's. The host firewall can: it drops the port for every pod whose address is not in
`hostnet.DATABASE_CLIENTS_SET`, and this watcher (`python -m localcluster.database_clients`,
supervised as `database-clients`, see `ai_clients`) keeps the set equal to the addresses of the
pods in the release namespaces: `make up`'s, and those the e2e suite and the benchmark create
for their releases, labelled RELEASE_NAMESPACE_LABEL. Namespaces and their labels are the
cluster admin's, so a user who may only run pods in another namespace cannot join.
"""

from __future__ import annotations

from typing import Any

from . import ai_clients, hostnet, release
from .settings import Paths
from .shell import run

NAME = "database-clients"
# Named for the e2e suite, which also removes the namespaces that carry it when a crashed run
# left them.
RELEASE_NAMESPACE_LABEL = "todo-chatbot-e2e"


def release_namespaces(namespaces: list[dict[str, Any]]) -> set[str]:
    """The names of the namespaces (items of `kubectl get namespaces -o json`) of releases."""
    return {
        item["metadata"]["name"]
        for item in namespaces
        if item["metadata"]["name"] == release.NAMESPACE
        or item["metadata"].get("labels", {}).get(RELEASE_NAMESPACE_LABEL) == "true"
    }


def sync(paths: Paths) -> None:
    """Put the addresses of the release namespaces' pods in the set."""
    allowed = release_namespaces(ai_clients.kubectl_json(paths, "get", "namespaces")["items"])
    pods = [
        pod
        for pod in ai_clients.kubectl_json(paths, "get", "pods", "--all-namespaces")["items"]
        if pod["metadata"]["namespace"] in allowed
    ]
    script = ai_clients.restore_script(ai_clients.pod_addresses(pods), hostnet.DATABASE_CLIENTS_SET)
    run(["ipset", "restore"], input_text=script)


def start(paths: Paths) -> None:
    """Run the database's watcher."""
    ai_clients.start_watcher(paths, NAME, "database_clients")


if __name__ == "__main__":
    ai_clients.keep_watching(NAME, lambda paths: ai_clients.watch(paths, sync))
