"""`make up` on a configured cluster: install the chart into the current kube context.

    python3 tools/kube_context.py configured   # exit 0 when a kube context is set
    python3 tools/kube_context.py deploy        # helm upgrade --install, print NOTES

A context is "configured" when $KUBECONFIG or ~/.kube/config names a current
context; otherwise `make up` boots the project's local cluster instead. The
release reads its credentials from a Secret the operator created (see the
chart README); this script never handles secret values.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = os.environ.get("RELEASE", "todo-chatbot")
NAMESPACE = os.environ.get("NAMESPACE", "todo-chatbot")
VALUES = Path(os.environ.get("VALUES", ROOT / "examples" / "values-existing-secret.yaml"))
TIMEOUT = "5m"
"""The mission's budget for both services to become Ready."""


def current_context() -> str | None:
    """The current context of the operator's kubeconfig, or None."""
    if not os.environ.get("KUBECONFIG") and not (Path.home() / ".kube" / "config").is_file():
        return None
    result = subprocess.run(
        ["kubectl", "config", "current-context"], capture_output=True, text=True
    )
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def deploy() -> int:
    """Install or upgrade the release, wait until Ready, print where to reach it."""
    context = current_context()
    if context is None:
        print("error: no kube context is configured (set KUBECONFIG)", file=sys.stderr)
        return 1
    if not VALUES.is_file():
        print(f"error: values file {VALUES} not found (set VALUES=...)", file=sys.stderr)
        return 1
    print(
        f"deploying release {RELEASE} to context {context}, namespace {NAMESPACE}, values {VALUES}",
        flush=True,
    )
    command = [
        "helm",
        "upgrade",
        "--install",
        RELEASE,
        str(ROOT / "dist" / "todo-chatbot"),
        "--namespace",
        NAMESPACE,
        "--create-namespace",
        "--values",
        str(VALUES),
        "--wait",
        "--timeout",
        TIMEOUT,
    ]
    result = subprocess.run(command)
    if result.returncode != 0:
        print(
            f"error: helm could not deploy {RELEASE}; see `kubectl -n {NAMESPACE} get events`",
            file=sys.stderr,
        )
    return result.returncode


def main(argv: list[str]) -> int:
    if argv == ["configured"]:
        return 0 if current_context() else 1
    if argv == ["deploy"]:
        return deploy()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
