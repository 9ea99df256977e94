"""Build the project's pinned Go tools from the Go module proxy into $CACHE/bin.

Usage: python3 tools/gotools.py GROUP [--force]
  helm            Helm 4 as `helm` and Helm 3 as `helm3` (make tools, part of make setup)
  checkers        kube-score and kubeconform, the chart tests' checkers (make tools too)
  cluster         Kubernetes, etcd, CoreDNS, metrics-server, kube-router, Traefik, pause,
                  and the monitoring group (make cluster-tools)
  kubernetes      only the Kubernetes commands; cluster-addons: the rest of `cluster`
  traefik         only Traefik, the local cluster's ingress controller
  monitoring      the Prometheus Operator (with prometheus-config-reloader) and Prometheus
  all             helm, node, checkers and cluster
  node            Node.js, from the npm registry's package of its binary (make setup-node)

Nothing is downloaded as a prebuilt binary (no such site is reachable): every tool is compiled
here with the installed Go from modules served by the Go module proxy; only Node.js comes
built, as the npm registry serves it (toolchain/node.py). Each tool is built into
$CACHE/tools/<name>-<version>/ and linked from $CACHE/bin, so a version bump rebuilds while an
unchanged pin is a no-op. A stamp in that folder records the exact build recipe (Go version,
flags, wrapper go.mod/go.sum); when the recipe changes the tool is rebuilt too. The module and
build caches live under $CACHE/go so that a rebuild compiles only what changed.

Before building anything it checks that the machine has the memory and disk the builds
need. A build prints a line every 15 s: the tool (`tool 2/7 etcd`), the packages compiled
of those to compile, and the time so far; its output is kept in $CACHE/tools/logs/.

This is the command line; the work is done by the `toolchain` package beside it (pins,
catalog, installer, golang, wrapper, progress, resources).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

# Run as a script (or imported by the tests, which put tools/ on the path), the `toolchain`
# package beside this file imports.
from toolchain.cache import cache_dir
from toolchain.catalog import GROUPS
from toolchain.installer import install, is_current, preflight
from toolchain.progress import elapsed, log


def main(argv: Sequence[str] | None = None) -> None:
    """Build the tools of the group named on the command line (those not built yet)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("group", choices=sorted(GROUPS), help="which tools to build")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tools = GROUPS[args.group]
    to_build = [tool.name for tool in tools if args.force or not is_current(tool)]
    if to_build:
        preflight([tool for tool in tools if tool.name in to_build])
    for tool in tools:
        step = (
            f"tool {to_build.index(tool.name) + 1}/{len(to_build)}" if tool.name in to_build else ""
        )
        install(tool, force=args.force, step=step)
    log(f"{args.group}: ready in {cache_dir() / 'bin'} ({elapsed(time.monotonic() - started)})")


if __name__ == "__main__":
    main()
