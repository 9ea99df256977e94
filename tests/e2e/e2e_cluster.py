"""The operator's side: kubectl, Helm, and one release of the chart per test scenario.

Every release lives in its own namespace with its own database schema, its own
BETTER_AUTH_SECRET and NodePort, so scenarios never see each other's data or pods, nor the
`make up` release. Values are modelled on the local cluster's own (localcluster.deploy):
the host's PostgreSQL and AI stand-in on the node IP, egress allowed to exactly those.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from localcluster import app_secrets, database_clients, deploy, images, kube, postgres
from localcluster.settings import Paths, node_named, paths_from_env
from support.live_api import core, wait_pod_finished
from support.secret import Secret

CHART = "todo-chatbot"
RELEASE = "e2e"
FULLNAME = f"{RELEASE}-{CHART}"
BACKEND = f"{FULLNAME}-backend"
FRONTEND = f"{FULLNAME}-frontend"
# Marks the namespaces of this suite, so a later run removes what a crashed one left; their
# pods may reach the host's PostgreSQL (database_clients).
NAMESPACE_LABEL = database_clients.RELEASE_NAMESPACE_LABEL
# Fail fast: a healthy release is Ready in well under a minute here.
HELM_TIMEOUT = "120s"


def paths() -> Paths:
    """The local cluster's folders and files."""
    return paths_from_env()


def kubectl(
    *args: str, input_text: str | None = None, check: bool = True, timeout: float = 120
) -> str:
    """Run kubectl against the local cluster; return stdout (stderr in the failure)."""
    result = subprocess.run(
        [str(paths().bin / "kubectl"), f"--kubeconfig={paths().kubeconfig}", *args],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args[:4])}: {result.stderr.strip()[-800:]}")
    return result.stdout


def kubectl_json(*args: str) -> Any:
    """kubectl ... -o json, parsed."""
    return json.loads(kubectl(*args, "-o", "json"))


def helm(
    *args: str, timeout: float = 300, binary: str = "helm"
) -> subprocess.CompletedProcess[str]:
    """Run Helm against the local cluster; the caller checks the outcome.

    `binary` is `helm` (Helm 4, which applies server-side) or `helm3` (Helm 3's client-side
    three-way merge), both built into the cluster's bin folder (tools/gotools.py helm).
    """
    return subprocess.run(
        [str(paths().bin / binary), f"--kubeconfig={paths().kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def admin_database_url() -> Secret:
    """The app role's URL from the host (loopback), for checks and clean-up."""
    return Secret(postgres.database_url(paths(), host="127.0.0.1"))


@dataclass
class Schema:
    """A fresh PostgreSQL schema on the host's server: one release's empty database."""

    name: str

    def app_url(self, role: str) -> Secret:
        """The URL of an app's role for pods: the node IP, TLS, this schema as the search path."""
        url = postgres.database_url(paths(), role=role)
        return Secret(f"{url}&options=-csearch_path%3D{self.name}")

    def create(self) -> None:
        """Create the (empty) schema, where each app's role creates its own tables."""
        with psycopg.connect(admin_database_url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.name}"')
            roles = ", ".join(postgres.APP_ROLES)
            conn.execute(f'GRANT USAGE, CREATE ON SCHEMA "{self.name}" TO {roles}')

    def drop(self) -> None:
        """Drop the schema with everything the release stored."""
        with psycopg.connect(admin_database_url(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one query in the schema and return its rows."""
        with psycopg.connect(admin_database_url(), autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{self.name}"')
            return conn.execute(sql.encode(), params).fetchall()


@dataclass
class Release:
    """The chart installed as release `e2e` in namespace `namespace`, with its own secrets.

    `chart_managed` puts the credentials in the values (the chart creates the Secret);
    otherwise they go into an existing Secret created first, as `make up` does.
    """

    namespace: str
    node_port: int
    # `oci://...` in the local registry, or the chart folder.
    chart_ref: str
    chart_version: str
    chart_managed: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    # Image digests by component (`images.app_digests`); empty: the chart's version tags.
    digests: dict[str, str] = field(default_factory=dict)
    # The Helm that installs and upgrades it: `helm` (Helm 4) or `helm3`.
    helm_binary: str = "helm"
    schema: Schema = field(init=False)
    credentials: dict[str, Secret] = field(init=False, repr=False)
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        """Pick this release's schema and secrets (generated now, never printed)."""
        self.schema = Schema(self.namespace.replace("-", "_"))
        self.credentials = {
            "DATABASE_URL": self.schema.app_url(postgres.BACKEND_ROLE),
            "FRONTEND_DATABASE_URL": self.schema.app_url(postgres.FRONTEND_ROLE),
            "BETTER_AUTH_SECRET": Secret(secrets.token_urlsafe(48)),
            "OPENAI_API_KEY": Secret(deploy.credentials(paths())["OPENAI_API_KEY"]),
        }

    @property
    def url(self) -> str:
        """The frontend's URL from the user's namespace (the NodePort)."""
        return deploy.public_url(self.node_port)

    @property
    def secret_name(self) -> str:
        """The existing Secret the release reads (when not chart-managed)."""
        return f"{RELEASE}-credentials"

    def secret_values(self) -> list[str]:
        """Every secret value of the release, including each database password alone."""
        values = [str(v) for v in self.credentials.values()]
        passwords = (
            app_secrets.DATABASE_PASSWORD,
            app_secrets.BACKEND_DATABASE_PASSWORD,
            app_secrets.FRONTEND_DATABASE_PASSWORD,
        )
        return [*values, *(app_secrets.read(paths(), name) for name in passwords)]

    def full_values(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The values of an install or upgrade: local defaults, this release's, then `extra`."""
        values = deploy.local_values(
            secret=self.secret_name, node_port=self.node_port, digests=self.digests, many_users=True
        )
        if self.chart_managed:
            values["secrets"] = {
                "databaseUrl": str(self.credentials["DATABASE_URL"]),
                "frontendDatabaseUrl": str(self.credentials["FRONTEND_DATABASE_URL"]),
                "betterAuthSecret": str(self.credentials["BETTER_AUTH_SECRET"]),
                "openaiApiKey": str(self.credentials["OPENAI_API_KEY"]),
            }
        return deploy.merge_values(deploy.merge_values(values, self.values), extra or {})

    def create_namespace(self) -> None:
        """The namespace, the empty schema and (unless chart-managed) the credentials Secret."""
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": {NAMESPACE_LABEL: "true"}},
        }
        kubectl("create", "-f", "-", input_text=json.dumps(namespace))
        self.schema.create()
        if not self.chart_managed:
            self.create_secret()

    def create_secret(self) -> None:
        """(Re)create the existing Secret with exactly the keys of `credentials`."""
        kubectl("-n", self.namespace, "delete", "secret", self.secret_name, "--ignore-not-found")
        deploy.apply_secret(
            paths(),
            namespace=self.namespace,
            name=self.secret_name,
            data={k: str(v) for k, v in self.credentials.items()},
        )

    def helm(
        self, command: str, *, extra: dict[str, Any] | None = None, args: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        """`helm install|upgrade` with the values in a private file (they may hold secrets)."""
        values = self.full_values(extra)
        source = (self.chart_ref,)
        if self.chart_ref.startswith("oci://"):
            source += ("--version", self.chart_version, "--plain-http")
        with private_file(json.dumps(values)) as values_file:
            result = helm(
                command,
                RELEASE,
                *source,
                "--namespace",
                self.namespace,
                "--values",
                str(values_file),
                *args,
                binary=self.helm_binary,
            )
        self.history.append({"command": command, "output": result.stdout + result.stderr})
        return result

    def install(self, *, wait: bool = True, timeout: str = HELM_TIMEOUT) -> float:
        """Install and wait for every pod Ready; return the seconds it took."""
        began = time.monotonic()
        result = self.helm("install", args=self._wait_args(wait, timeout))
        elapsed = time.monotonic() - began
        assert result.returncode == 0, self.explain(result)
        return elapsed

    def upgrade(
        self,
        extra: dict[str, Any] | None = None,
        *,
        timeout: str = HELM_TIMEOUT,
        force_conflicts: bool = False,
    ) -> float:
        """Upgrade with `extra` values (on top of the release's own) and wait; return seconds.

        Helm 4 applies server-side: after a `kubectl scale`, `force_conflicts` is how Helm
        takes `.spec.replicas` back (without it the upgrade fails on the conflict).
        """
        if extra:
            self.values = deploy.merge_values(self.values, extra)
        began = time.monotonic()
        force = ("--force-conflicts",) if force_conflicts else ()
        result = self.helm("upgrade", args=(*self._wait_args(True, timeout), *force))
        elapsed = time.monotonic() - began
        assert result.returncode == 0, self.explain(result)
        return elapsed

    def roll_credentials(self, credentials: dict[str, Secret]) -> set[str]:
        """Upgrade with new chart-managed credentials; return the pods that replaced the old.

        Returns once the old pods are gone: they drain for a few seconds (preStop, then
        SIGTERM) and keep answering on the connections they already hold.
        """
        components = ("backend", "frontend")
        before = {p["metadata"]["name"] for c in components for p in self.pods(c)}
        self.credentials.update(credentials)
        self.upgrade()
        after = {p["metadata"]["name"] for c in components for p in self.pods(c)}
        assert after.isdisjoint(before), "the pods did not roll"
        self.wait_pods(
            lambda pods: not {p["metadata"]["name"] for p in pods} & before,
            what="the old pods stopped",
            timeout=60,
        )
        return after

    @staticmethod
    def _wait_args(wait: bool, timeout: str) -> tuple[str, ...]:
        return ("--wait", f"--timeout={timeout}") if wait else ()

    def explain(self, result: subprocess.CompletedProcess[str]) -> str:
        """Helm's last lines plus the pods' states and the namespace's warnings."""
        lines = (result.stderr or result.stdout).strip().splitlines()[-3:]
        pods = kubectl("-n", self.namespace, "get", "pods", "-o", "wide", check=False)
        events = kubectl(
            "-n", self.namespace, "get", "events", "--field-selector=type=Warning", check=False
        )
        return "\n".join([*lines, pods, events[-2000:]])

    def uninstall(self) -> None:
        """Remove the release, its namespace and its schema (without waiting for the pods)."""
        helm("uninstall", RELEASE, "--namespace", self.namespace, "--wait=false", timeout=120)
        kubectl("delete", "namespace", self.namespace, "--wait=false", "--ignore-not-found")
        with contextlib.suppress(psycopg.Error):
            self.schema.drop()

    def pods(self, component: str) -> list[dict[str, Any]]:
        """The component's pods that are not being deleted, oldest first."""
        items, _ = kube.list_objects(
            core().list_namespaced_pod,
            namespace=self.namespace,
            label_selector=component_of(component),
        )
        return live(items)

    def ready_pods(self, component: str) -> list[str]:
        """Names of the component's Ready pods."""
        return [p["metadata"]["name"] for p in self.pods(component) if is_ready(p)]

    def wait_pods(
        self,
        condition: Callable[[list[dict[str, Any]]], bool],
        *,
        what: str,
        timeout: float = 120,
        selector: str | None = None,
        name: str | None = None,
    ) -> list[dict[str, Any]]:
        """Wait on a watch until `condition` holds for the namespace's pods.

        Only those of the label `selector`, or the one called `name`, when given. The condition
        sees every pod, those being deleted too. A timeout fails the test with the namespace's
        events.
        """
        query = {"label_selector": selector} if selector else {}
        if name:
            query["field_selector"] = kube.named(name)
        try:
            return kube.wait_for(
                core().list_namespaced_pod,
                condition,
                what=what,
                timeout_seconds=timeout,
                namespace=self.namespace,
                **query,
            )
        except TimeoutError as error:
            events = kubectl("-n", self.namespace, "get", "events", check=False)
            raise AssertionError(f"{error}\n{events[-2000:]}") from None

    def wait_ready(self, component: str, count: int, *, timeout: float = 120) -> float:
        """Wait until exactly `count` pods of the component exist and are Ready; return seconds."""
        began = time.monotonic()

        def settled(pods: list[dict[str, Any]]) -> bool:
            return len(live(pods)) == count and all(is_ready(p) for p in live(pods))

        self.wait_pods(
            settled,
            what=f"{count} Ready {component} pods",
            timeout=timeout,
            selector=component_of(component),
        )
        return time.monotonic() - began

    def exec_python(self, pod: str, code: str, *, timeout: float = 60) -> str:
        """Run Python code in a pod of the release (both images have Python); return stdout."""
        return kubectl(
            "-n", self.namespace, "exec", pod, "--", "python3", "-c", code, timeout=timeout
        )

    def http_in_pod(self, pod: str, requests: list[dict[str, Any]]) -> list[tuple[int, str]]:
        """Send HTTP requests from inside `pod`; return (status, body) each, 0 if unreachable.

        A request is `{"url", "method"?, "headers"?, "body"?}`; they travel on stdin, so
        tokens never show on a command line.
        """
        code = (
            "import json, sys, urllib.request, urllib.error\n"
            "out = []\n"
            "for r in json.load(sys.stdin):\n"
            "    body = r.get('body')\n"
            "    request = urllib.request.Request(r['url'], method=r.get('method', 'GET'),\n"
            "        headers=r.get('headers', {}), data=body.encode() if body else None)\n"
            "    try:\n"
            "        with urllib.request.urlopen(request, timeout=4) as answer:\n"
            "            out.append([answer.status, answer.read().decode()])\n"
            "    except urllib.error.HTTPError as error:\n"
            "        out.append([error.code, error.read().decode()])\n"
            "    except OSError as error:\n"
            "        out.append([0, type(error).__name__])\n"
            "print(json.dumps(out))\n"
        )
        stdout = kubectl(
            "-n", self.namespace, "exec", "-i", pod, "--", "python3", "-c", code,
            input_text=json.dumps(requests),
        )  # fmt: skip
        return [(int(status), str(body)) for status, body in json.loads(stdout)]

    def run_pod(
        self, name: str, script: str, *, labels: dict[str, str] | None = None, timeout: int = 120
    ) -> str:
        """Run a one-off Python pod (the backend image) in the namespace; return its output."""
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": self.namespace, "labels": labels or {}},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "probe",
                        "image": images.ref(paths(), "backend"),
                        "command": ["python3", "-c", script],
                    }
                ],
            },
        }
        kubectl("apply", "-f", "-", input_text=json.dumps(pod))
        try:
            finished = wait_pod_finished(self.namespace, name, timeout=timeout)
            logs = kubectl("-n", self.namespace, "logs", f"pod/{name}")
            assert finished["status"]["phase"] == "Succeeded", logs
            return logs
        finally:
            kubectl("-n", self.namespace, "delete", f"pod/{name}", "--wait=false")

    def restarts(self) -> dict[str, int]:
        """Container restarts of every pod of the release, by pod name."""
        items, _ = kube.list_objects(core().list_namespaced_pod, namespace=self.namespace)
        return {
            p["metadata"]["name"]: sum(
                c["restartCount"] for c in p["status"].get("containerStatuses", [])
            )
            for p in items
        }


def is_ready(pod: dict[str, Any]) -> bool:
    """Whether the pod's Ready condition is True."""
    return kube.condition_true(pod, "Ready")


def live(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pods that are not being deleted, oldest first."""
    kept = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    return sorted(kept, key=lambda p: p["metadata"]["creationTimestamp"])


def component_of(component: str) -> str:
    """The label selector of one component's pods."""
    return f"app.kubernetes.io/component={component}"


def host_pid(pod: dict[str, Any]) -> int:
    """The host pid of the pod's (only) container's main process, from containerd."""
    container_id = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    tasks = subprocess.run(
        [
            "ctr",
            "--address",
            # The containerd of the node the pod runs on (`make up NODES=n`).
            str(node_named(pod["spec"]["nodeName"]).containerd_socket(paths())),
            "--namespace",
            "k8s.io",
            "task",
            "ls",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for line in tasks:
        fields = line.split()
        if fields and fields[0] == container_id:
            return int(fields[1])
    raise AssertionError(f"no containerd task for {pod['metadata']['name']}")


@contextlib.contextmanager
def private_file(text: str) -> Iterator[Path]:
    """A temporary file only root can read, removed afterwards."""
    descriptor, name = tempfile.mkstemp(prefix="e2e-values-", suffix=".json")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
