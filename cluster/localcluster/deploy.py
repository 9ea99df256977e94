"""Deploy the chart on the local cluster, wired to the host's "external" services.

The app's credentials go into a Secret created from the files in $STATE/secrets (through
kubectl's stdin, never a command line) and the chart points at it with `secrets.existingSecret`;
the non-secret values (where PostgreSQL and the AI stand-in live, the NodePort the user opens)
go in a values file. The chart engineer owns the chart; this is the local cluster's release.
"""

from __future__ import annotations

import base64
import json

from . import ai_standin, app_secrets, postgres, settings
from .errors import ClusterError
from .kubectl import kubectl
from .settings import Paths
from .shell import run

RELEASE = "todo-chatbot"
NAMESPACE = "todo-chatbot"
SECRET = "todo-chatbot-local"
# The frontend's NodePort, served on the host end of the user's veth.
FRONTEND_NODE_PORT = 30080
HELM_TIMEOUT = "5m"


def public_url() -> str:
    """The URL the end user opens from the `todo-user` network namespace."""
    return f"http://{settings.USER_HOST_IP}:{FRONTEND_NODE_PORT}"


def local_values() -> dict[str, object]:
    """Values for the local cluster: host services on the node IP, the frontend on a NodePort."""
    node_ip = f"{settings.NODE_IP}/32"
    return {
        "secrets": {"existingSecret": SECRET},
        "ai": {"provider": "openai", "baseUrl": f"{ai_standin.URL}/v1"},
        "config": {"publicUrl": public_url()},
        "frontend": {"service": {"type": "NodePort", "nodePort": FRONTEND_NODE_PORT}},
        "networkPolicy": {
            "egress": {
                "databaseCidrs": [node_ip],
                "databasePort": settings.PORTS.postgres,
                "aiCidrs": [node_ip],
                "aiPort": settings.PORTS.ai_standin,
            }
        },
    }


def _apply_secret(paths: Paths) -> None:
    data = {
        "DATABASE_URL": postgres.database_url(paths),
        "BETTER_AUTH_SECRET": app_secrets.read(paths, app_secrets.BETTER_AUTH_SECRET),
        "OPENAI_API_KEY": app_secrets.read(paths, app_secrets.AI_API_KEY),
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": NAMESPACE},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    kubectl(paths, "apply", "-f", "-", input_text=json.dumps(secret))


def deploy(paths: Paths) -> str:
    """Install or upgrade the release, wait for every pod, and return the user's URL."""
    chart = paths.repo / "dist" / "todo-chatbot"
    if not (chart / "Chart.yaml").is_file():
        raise ClusterError(f"the chart {chart} is not built: run `make chart`")
    manifest = json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    )
    kubectl(paths, "apply", "-f", "-", input_text=manifest)
    _apply_secret(paths)
    values = paths.config / "values-local.json"
    values.write_text(json.dumps(local_values(), indent=2) + "\n")
    result = run(
        [
            paths.bin / "helm",
            "upgrade",
            "--install",
            RELEASE,
            chart,
            "--namespace",
            NAMESPACE,
            f"--kubeconfig={paths.kubeconfig}",
            "--values",
            values,
            "--wait",
            f"--timeout={HELM_TIMEOUT}",
        ],
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise ClusterError(
            f"helm install failed ({lines[-1] if lines else 'no message'}): run "
            f"`kubectl --kubeconfig {paths.kubeconfig} -n {NAMESPACE} get pods` and describe them"
        )
    return public_url()
