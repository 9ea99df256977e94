"""Command line of the local cluster: `python -m localcluster <command>` (choices below).

Every failure prints one line, `error: <cause and what to do>`, and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys

from . import deploy, monitoring, preflight, settings, signed_release
from .errors import ClusterError
from .lifecycle import Cluster


def main(argv: list[str] | None = None) -> int:
    """Parse the command, run it, and turn a ClusterError into one line on stderr."""
    parser = argparse.ArgumentParser(prog="localcluster", description=__doc__.splitlines()[0])
    parser.add_argument(
        "command", choices=["up", "deploy", "release", "down", "status", "preflight"]
    )
    parser.add_argument(
        "--frontend",
        choices=deploy.FRONTENDS,
        default="python",
        help="deploy: the frontend of the release (next: app/frontend-next, make next-image)",
    )
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help=f"up: nodes of the cluster, 1 to {settings.MAX_NODES} (make up NODES=n)",
    )
    args = parser.parse_args(argv)
    cluster = Cluster.from_env()
    try:
        if args.command == "up":
            cluster.up(args.nodes)
        elif args.command == "deploy":
            url = cluster.deploy(frontend=args.frontend)
            print(f"todo-chatbot is ready: open {url} from the user's namespace, e.g.")
            print(f"  ip netns exec {settings.USER_NETNS} curl {url}/")
            print("or through the ingress controller (Traefik):")
            print(f"  {deploy.ingress_command()}")
            print("Prometheus (its HTTP API; the web UI's assets are not built here):")
            print(
                f"  ip netns exec {settings.USER_NETNS} curl "
                f"'{monitoring.url()}/api/v1/query?query=up'"
            )
        elif args.command == "release":
            notes = signed_release.publish(cluster.paths, cluster.paths.repo / "dist" / "release")
            print(f"released: {notes}")
        elif args.command == "down":
            cluster.down()
        elif args.command == "preflight":
            preflight.run(cluster.paths, nodes=args.nodes)
            print("preflight: ok")
        else:
            for name, state in cluster.status():
                print(f"{name:<24} {state}")
            print(f"kubeconfig: {cluster.paths.kubeconfig}")
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
