"""The app's Helm release, as `make up` installs it on any cluster: name, namespace, chart, wait.

The local cluster (deploy.py) and a configured kube context (tools/kube_context.py) install the
same chart with the same command; each adds only what its target needs (an OCI reference and a
kubeconfig, or `--create-namespace`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

RELEASE = "todo-chatbot"
NAMESPACE = "todo-chatbot"
# Pod Security Admission refuses in the release's namespace any pod outside the `restricted`
# profile, which every pod of the chart meets: a pod someone slips in cannot run as root,
# escalate or add capabilities. `latest`: the profile of the cluster's own version.
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
# The budget for both services to become Ready.
HELM_TIMEOUT = "5m"


def chart_folder(repo: Path) -> Path:
    """The chart `make chart` builds in the repository."""
    return repo / "dist" / "todo-chatbot"


def upgrade_command(
    helm: str | Path,
    chart: str | Path,
    *,
    values: Path,
    release: str = RELEASE,
    namespace: str = NAMESPACE,
    options: Sequence[str] = (),
) -> list[str]:
    """`helm upgrade --install` of the release that waits for its pods, with extra `options`."""
    return [
        str(helm),
        "upgrade",
        "--install",
        release,
        str(chart),
        "--namespace",
        namespace,
        *options,
        "--values",
        str(values),
        "--wait",
        f"--timeout={HELM_TIMEOUT}",
    ]
