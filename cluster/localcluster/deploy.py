"""Deploy the chart on the local cluster, wired to the host's "external" services.

The app's credentials go into a Secret created from the files in $STATE/secrets (through
kubectl's stdin, never a command line) and the chart points at it with `secrets.existingSecret`;
the non-secret values (where PostgreSQL and the AI stand-in live, the NodePort the user opens,
the Ingress host that Traefik serves) go in a values file. The chart engineer owns the chart;
this is the local cluster's release.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from pathlib import Path
from typing import Any

import yaml
from imagebuild.catalogue import NEXT
from kubernetes import client
from kubernetes.utils import parse_quantity

from . import ai_standin, app_secrets, images, kube, monitoring, postgres, settings, traefik
from .errors import ClusterError
from .kubectl import kubectl
from .progress import heartbeat
from .release import NAMESPACE, POD_SECURITY_LABELS, RELEASE, chart_folder, upgrade_command
from .settings import Paths
from .shell import run

SECRET = "todo-chatbot-local"
# The frontend's NodePort, served on the host end of the user's veth: the primary URL, and the
# fallback when the ingress controller is down.
FRONTEND_NODE_PORT = 30080
# The host of the release's Ingress, served by Traefik (traefik.NODE_PORT). Nothing resolves it
# here: the user sends it as the Host header.
INGRESS_HOST = "todo.localtest.me"
CHART_REPOSITORY = f"{settings.REGISTRY}/todo-chatbot/charts"


def public_url(node_port: int = FRONTEND_NODE_PORT) -> str:
    """The URL the end user opens from the `todo-user` network namespace."""
    return f"http://{settings.USER_HOST_IP}:{node_port}"


def ingress_command(host: str = INGRESS_HOST) -> str:
    """The command that opens the app through Traefik from the user's namespace."""
    return f"ip netns exec {settings.USER_NETNS} curl -H 'Host: {host}' {traefik.ingress_url()}/"


# Sign-ups per address the e2e suite and the benchmark need (well above what they make).
MANY_USERS_SIGN_UPS = 100_000
# Chat turns per user and minute for the benchmark, whose users pick chat at random after
# 1 to 3 s of thought: a lucky streak can pass the default 10, never this.
MANY_USERS_CHAT_TURNS_PER_MINUTE = 60


def local_values(
    *,
    secret: str = SECRET,
    node_port: int = FRONTEND_NODE_PORT,
    ingress_host: str | None = None,
    digests: dict[str, str] | None = None,
    many_users: bool = False,
    monitored: bool = False,
) -> dict[str, Any]:
    """Values for the local cluster: host services on the node IP, the frontend on a NodePort.

    `secret` names the existing Secret with the credentials (`apply_secret`); other releases
    on the same cluster (the e2e tests') pass their own Secret and NodePort. `ingress_host`
    adds an Ingress of class `traefik` for that host; without it the release has none (two
    releases must not claim one host). The public URL stays the NodePort's either way.
    `digests` (`images.app_digests`) pins each component's image to the build just pushed.
    `many_users` lifts the frontend's per-address sign-up limit for the e2e suite and the
    benchmark, whose many users all come from the one user namespace, and the backend's
    per-user chat rate for the benchmark's random mix. `monitored` adds `monitored_values()`.
    """
    node_ip = f"{settings.NODE_IP}/32"
    values: dict[str, Any] = {
        "secrets": {"existingSecret": secret, "existingSecretFrontendDatabaseUrl": True},
        "ai": {"provider": "openai", "baseUrl": f"{ai_standin.URL}/v1"},
        "config": {"publicUrl": public_url(node_port)},
        "frontend": {
            # Local: the frontend sees the user's address, so its sign-in rate limit is per
            # client; what comes through Traefik arrives from Traefik's pod, on the pod range
            # (any node's), and only that hop's X-Forwarded-For is believed.
            "service": {
                "type": "NodePort",
                "nodePort": node_port,
                "externalTrafficPolicy": "Local",
            },
            "trustedProxies": [str(settings.POD_CIDR)],
        },
        "networkPolicy": {
            "egress": {
                "databaseCidrs": [node_ip],
                "databasePort": settings.PORTS.postgres,
                "aiCidrs": [node_ip],
                "aiPort": settings.PORTS.ai_standin,
            }
        },
    }
    if ingress_host is not None:
        values["ingress"] = {
            "enabled": True,
            "className": traefik.INGRESS_CLASS,
            "host": ingress_host,
        }
    if many_users:
        values["frontend"]["signUpLimitPerClient"] = MANY_USERS_SIGN_UPS
        values["backend"] = {"chatLimits": {"turnsPerMinute": MANY_USERS_CHAT_TURNS_PER_MINUTE}}
    if monitored:
        values = merge_values(values, monitored_values())
    for component, digest in (digests or {}).items():
        values = merge_values(values, {component: {"image": {"digest": digest}}})
    return values


def monitored_values() -> dict[str, Any]:
    """What has the cluster's Prometheus (monitoring.py) watch a release: the chart's
    ServiceMonitor (through the components' metrics Services), scraped every
    `monitoring.SCRAPE_INTERVAL`, and PrometheusRule; its namespace admitted to the metrics port.
    """
    return {
        "metrics": {
            "enabled": True,
            "serviceMonitor": {"enabled": True, "interval": monitoring.SCRAPE_INTERVAL},
            "prometheusRule": {"enabled": True},
        },
        "networkPolicy": {"metricsNamespace": monitoring.NAMESPACE},
    }


# The frontends `deploy` can put in front of the backend: the reference one (app/frontend) and
# the Next.js + Better Auth one (app/frontend-next), as examples/values-nextjs.yaml deploys it.
FRONTENDS = ("python", "next")
NEXTJS_EXAMPLE = Path("examples") / "values-nextjs.yaml"


def nextjs_values(repo: Path, *, public_url: str, jwks_url: str, digest: str) -> dict[str, Any]:
    """examples/values-nextjs.yaml for a release at `public_url` whose key set is `jwks_url`.

    The example names the `todo-chatbot` release's Service and a made-up host; a release gets
    its own key set URL, and its public URL as Better Auth's issuer and audience. `digest`
    pins the image (`images.digest(paths, NEXT)`) of the frontend and of the migration Job.
    """
    values: dict[str, Any] = yaml.safe_load((repo / NEXTJS_EXAMPLE).read_text())
    addresses = {
        "AUTH_JWKS_URL": jwks_url,
        "AUTH_JWT_ISSUER": public_url,
        "AUTH_JWT_AUDIENCE": public_url,
    }
    for variable in values["backend"]["extraEnvVars"]:
        variable["value"] = addresses[variable["name"]]
    values["config"]["publicUrl"] = public_url
    values["frontend"]["image"]["digest"] = digest
    values["migrations"]["image"]["digest"] = digest
    return values


def merge_values(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra` merged in as Helm merges `-f` files: maps key by key, `extra` wins."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def credentials(paths: Paths) -> dict[str, str]:
    """The app's Secret keys with the generated values (never print them)."""
    return {
        # Each app its own role (least privilege); the chart gives the frontend the second.
        "DATABASE_URL": postgres.database_url(paths, role=postgres.BACKEND_ROLE),
        "FRONTEND_DATABASE_URL": postgres.database_url(paths, role=postgres.FRONTEND_ROLE),
        "BETTER_AUTH_SECRET": app_secrets.read(paths, app_secrets.BETTER_AUTH_SECRET),
        "OPENAI_API_KEY": app_secrets.read(paths, app_secrets.AI_API_KEY),
    }


def apply_secret(paths: Paths, *, namespace: str, name: str, data: dict[str, str]) -> None:
    """Create or update an Opaque Secret through kubectl's stdin (never its command line)."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    kubectl(paths, "apply", "-f", "-", input_text=json.dumps(secret))


def pod_requests(objects: list[dict[str, Any]]) -> dict[str, float]:
    """CPU (cores) and memory (bytes) requested by these Deployments and scheduled Pods."""
    total = {"cpu": 0.0, "memory": 0.0}
    for obj in objects:
        if obj.get("kind") == "Deployment":
            spec, count = obj["spec"]["template"]["spec"], obj["spec"].get("replicas", 1)
        elif (
            obj.get("kind") == "Pod"
            # Only pods bound to the node hold its resources: a Pending pod does not.
            and obj["spec"].get("nodeName")
            and obj.get("status", {}).get("phase") not in ("Succeeded", "Failed")
        ):
            spec, count = obj["spec"], 1
        else:
            continue
        for container in spec.get("containers", []):
            requests = container.get("resources", {}).get("requests", {})
            for resource in total:
                total[resource] += count * float(parse_quantity(requests.get(resource, "0")))
    return total


def check_requests_fit(
    wanted: dict[str, float], allocatable: dict[str, float], used: dict[str, float]
) -> str | None:
    """Why the release's requests cannot be scheduled on the node, or None when they fit."""
    for resource, unit, scale in (("cpu", "CPU", 1.0), ("memory", "MiB", 2.0**20)):
        free = allocatable[resource] - used[resource]
        if wanted[resource] > free:
            return (
                f"the release requests {wanted[resource] / scale:g} {unit} but the node has "
                f"{free / scale:g} {unit} left of {allocatable[resource] / scale:g} allocatable: "
                f"lower backend.resources.requests / frontend.resources.requests (or replicas) "
                f"or free the node"
            )
    return None


def _preflight_resources(paths: Paths, chart_ref: str, version: str, values: Path) -> None:
    """Refuse a release whose pods could never be scheduled, before Helm waits minutes on it."""
    rendered = run(
        [
            paths.bin / "helm", "template", RELEASE, chart_ref, "--version", version,
            "--plain-http", "--namespace", NAMESPACE, "--values", values, "--skip-tests",
        ],
        timeout=120,
    ).stdout  # fmt: skip
    release = [obj for obj in yaml.safe_load_all(rendered) if obj]
    with kube.api_client(paths) as api:
        core = client.CoreV1Api(api)
        pods, _ = kube.list_objects(core.list_pod_for_all_namespaces)
        nodes, _ = kube.list_objects(core.list_node)
    # This release's own pods are replaced by the new ones, so they do not count as used.
    others = [p for p in pods if p["metadata"]["namespace"] != NAMESPACE]
    allocatable = {
        r: float(parse_quantity(nodes[0]["status"]["allocatable"][r])) for r in ("cpu", "memory")
    }
    problem = check_requests_fit(pod_requests(release), allocatable, pod_requests(others))
    if problem:
        raise ClusterError(problem)


def chart_version(chart: Path) -> str:
    """The `version:` of a chart's Chart.yaml."""
    for line in (chart / "Chart.yaml").read_text().splitlines():
        if line.startswith("version:"):
            return line.split(":", 1)[1].strip().strip("'\"")
    raise ClusterError(f"{chart / 'Chart.yaml'} has no version")


def push_chart(paths: Paths) -> str:
    """Push the packaged chart to the local registry as an OCI artifact; return its reference.

    Installing from there proves `helm install oci://...` works as well as the folder does.
    """
    chart = chart_folder(paths.repo)
    if not (chart / "Chart.yaml").is_file():
        raise ClusterError(f"the chart {chart} is not built: run `make chart`")
    if not os.access(paths.bin / "helm", os.X_OK):
        raise ClusterError(f"helm is not built in {paths.bin}: run `make tools`")
    version = chart_version(chart)
    package = paths.repo / "dist" / f"todo-chatbot-{version}.tgz"
    if not package.is_file():
        raise ClusterError(f"the chart package {package} is missing: run `make chart`")
    run([paths.bin / "helm", "push", package, f"oci://{CHART_REPOSITORY}", "--plain-http"])
    return f"oci://{CHART_REPOSITORY}/todo-chatbot"


def namespace_manifest() -> dict[str, Any]:
    """The release's Namespace, labelled to enforce the `restricted` Pod Security profile."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": dict(POD_SECURITY_LABELS)},
    }


def deploy(paths: Paths, *, frontend: str = "python") -> str:
    """Install or upgrade the release from the local registry; wait for the pods; return the URL.

    `frontend` picks the frontend (FRONTENDS): `next` deploys examples/values-nextjs.yaml over
    the local values, with the Next.js image `make next-image` built.
    """
    if frontend not in FRONTENDS:
        raise ClusterError(f"FRONTEND must be one of {', '.join(FRONTENDS)}, got {frontend!r}")
    chart_ref = push_chart(paths)
    version = chart_version(chart_folder(paths.repo))
    kubectl(paths, "apply", "-f", "-", input_text=json.dumps(namespace_manifest()))
    apply_secret(paths, namespace=NAMESPACE, name=SECRET, data=credentials(paths))
    values = paths.config / "values-local.json"
    chosen = local_values(
        ingress_host=INGRESS_HOST, digests=images.app_digests(paths), monitored=True
    )
    if frontend == "next":
        stack = nextjs_values(
            paths.repo,
            public_url=public_url(),
            jwks_url=f"http://{RELEASE}-frontend/api/auth/jwks",
            digest=images.digest(paths, NEXT),
        )
        chosen = merge_values(chosen, stack)
    values.write_text(json.dumps(chosen, indent=2) + "\n")
    _preflight_resources(paths, chart_ref, version, values)
    with heartbeat(f"helm --wait: the pods of release {RELEASE} to be ready"):
        result = run(
            upgrade_command(
                paths.bin / "helm",
                chart_ref,
                values=values,
                options=["--version", version, "--plain-http", f"--kubeconfig={paths.kubeconfig}"],
            ),
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
