"""`make up` on a configured cluster: install the chart into the current kube context.

    python3 -m pipenv run python tools/kube_context.py configured  # 0: a cluster not ours, 1: none
    python3 -m pipenv run python tools/kube_context.py deploy      # helm upgrade --install --wait

A context is "configured" when the kubeconfig ($KUBECONFIG, a list of files, else
~/.kube/config) names a current context of another cluster than the local one; otherwise
`make up` boots (or refreshes) the project's local cluster instead. The local cluster is
recognised by its apiserver's URL, whether the context is the one `make up` merged into the
user's kubeconfig or the cluster's own $STATE/kubeconfig; that file, named by KUBECONFIG after
`make down` removed it, counts as no kubeconfig. The kubeconfig is read here rather than
through kubectl, which `make up` builds only for the local cluster; deploying needs helm alone
(`make tools`). Exit status 2, with one line, means something is wrong (an unreadable
kubeconfig, a current context it does not define, a missing values file): `make up` stops then
instead of booting the local cluster.

The release reads its credentials from a Secret the operator created (see the chart
README); this script never handles secret values.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# tools/ holds scripts; the local cluster's package and the image catalogue are imported from
# their source folders.
sys.path[:0] = [str(ROOT / "cluster"), str(ROOT / "images")]
from imagebuild.catalogue import APPS  # noqa: E402
from localcluster import release  # noqa: E402
from localcluster.settings import API_URL, paths_from_env  # noqa: E402

CHART = release.chart_folder(ROOT)
RELEASE = os.environ.get("RELEASE", release.RELEASE)
NAMESPACE = os.environ.get("NAMESPACE", release.NAMESPACE)
DEFAULT_VALUES = ROOT / "examples" / "values-existing-secret.yaml"

# Registries that only this machine reaches: another cluster's nodes cannot pull from them.
LOCAL_REGISTRY_HOSTS = ("localhost", "127.0.0.1", "[::1]")

NOT_CONFIGURED = 1
ERROR = 2


class ConfigError(Exception):
    """The operator's kubeconfig or values file cannot be used as it is."""


def kubeconfig_files() -> list[Path]:
    """Return the kubeconfig files in kubectl's order: $KUBECONFIG's list, else ~/.kube/config."""
    listed = os.environ.get("KUBECONFIG", "")
    if listed:
        return [Path(entry) for entry in listed.split(os.pathsep) if entry]
    return [Path.home() / ".kube" / "config"]


def read_yaml(path: Path, kind: str) -> dict[str, Any]:
    """Parse a kubeconfig or values file (`kind`); an empty file is an empty mapping."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())
        raise ConfigError(f"{kind} {path} cannot be read: {reason}") from error
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{kind} {path} is not a YAML mapping")
    return loaded


def read_kubeconfig() -> tuple[str | None, str | None]:
    """Return the current context and its cluster's server URL (None when not set).

    Files merge as kubectl merges them: missing files of $KUBECONFIG are skipped, the first
    file that sets current-context (or defines a name) wins, and that context must be defined
    in one of them.
    """
    files = kubeconfig_files()
    existing = [path for path in files if path.is_file()]
    local_state = paths_from_env().state
    others = [path for path in files if not path.absolute().is_relative_to(local_state)]
    if os.environ.get("KUBECONFIG") and not existing and others:
        raise ConfigError(f"KUBECONFIG={os.environ['KUBECONFIG']} names no file that exists")
    current: str | None = None
    clusters: dict[str, str | None] = {}
    servers: dict[str, str] = {}
    for path in existing:
        config = read_yaml(path, "kubeconfig")
        current = current or config.get("current-context") or None
        for context in config.get("contexts") or []:
            if isinstance(context, dict) and isinstance(context.get("name"), str):
                fields = context.get("context")
                cluster = fields.get("cluster") if isinstance(fields, dict) else None
                clusters.setdefault(context["name"], cluster)
        for cluster in config.get("clusters") or []:
            fields = cluster.get("cluster") if isinstance(cluster, dict) else None
            if isinstance(fields, dict) and isinstance(fields.get("server"), str):
                servers.setdefault(cluster["name"], fields["server"])
    if current is not None and current not in clusters:
        names = os.pathsep.join(str(path) for path in existing)
        raise ConfigError(f"the current context {current!r} is not defined in {names}")
    cluster_name = clusters.get(current) if current is not None else None
    return current, servers.get(cluster_name) if cluster_name is not None else None


def configured() -> int:
    """0 when a context of another cluster is current; 1 with none, or the local cluster's."""
    current, server = read_kubeconfig()
    if current is None or server == API_URL:
        return NOT_CONFIGURED
    return 0


def image_registry(values: dict[str, Any], component: str) -> str | None:
    """Return `<component>.image.registry` of a values mapping, or None when it is not set."""
    section = values.get(component)
    image = section.get("image") if isinstance(section, dict) else None
    registry = image.get("registry") if isinstance(image, dict) else None
    return registry if isinstance(registry, str) else None


def registry_host(registry: str) -> str:
    """Return a registry's host without its port: `localhost:5001` -> `localhost`."""
    if registry.startswith("["):
        return registry.split("]", 1)[0] + "]"
    return registry.split("/", 1)[0].split(":", 1)[0]


def local_images(values: dict[str, Any], chart_defaults: dict[str, Any]) -> list[str]:
    """Return the components whose image would come from the chart's local-only default.

    A registry the values file sets is the operator's choice and always kept, even a
    localhost one (say, a registry the nodes reach through a tunnel).
    """
    return [
        component
        for component in APPS
        if image_registry(values, component) is None
        and registry_host(image_registry(chart_defaults, component) or "") in LOCAL_REGISTRY_HOSTS
    ]


def deploy() -> int:
    """Install or upgrade the release, wait until Ready; 1 without a context, 2 on an error."""
    context, _ = read_kubeconfig()
    if context is None:
        print("error: no kube context is configured (set KUBECONFIG)", file=sys.stderr)
        return NOT_CONFIGURED
    values_path = Path(os.environ.get("VALUES") or DEFAULT_VALUES)
    if not values_path.is_file():
        print(f"error: values file {values_path} not found (set VALUES=...)", file=sys.stderr)
        return ERROR
    if not (CHART / "values.yaml").is_file():
        print(f"error: the chart {CHART} is not built (run `make chart`)", file=sys.stderr)
        return ERROR
    if shutil.which("helm") is None:
        print("error: helm is not installed (run `make tools`)", file=sys.stderr)
        return ERROR
    local = local_images(
        read_yaml(values_path, "values file"), read_yaml(CHART / "values.yaml", "chart values")
    )
    if local:
        keys = " and ".join(f"{component}.image.registry" for component in local)
        print(
            f"error: the {' and '.join(local)} images would come from this machine's registry, "
            f"which the cluster of context {context} cannot pull from; set {keys} in the "
            f"values file ({values_path}, or another one with VALUES=...)",
            file=sys.stderr,
        )
        return ERROR
    print(
        f"deploying release {RELEASE} to context {context}, namespace {NAMESPACE}, "
        f"values {values_path}",
        flush=True,
    )
    command = release.upgrade_command(
        "helm",
        CHART,
        values=values_path,
        release=RELEASE,
        namespace=NAMESPACE,
        options=["--create-namespace"],
    )
    if subprocess.run(command).returncode != 0:
        print(
            f"error: helm could not deploy {RELEASE}; see `kubectl -n {NAMESPACE} get events`",
            file=sys.stderr,
        )
        return ERROR
    return 0


def main(argv: list[str]) -> int:
    """Run `configured` or `deploy`; return 0, 1 (no kube context) or 2 (an error, one line)."""
    try:
        if argv == ["configured"]:
            return configured()
        if argv == ["deploy"]:
            return deploy()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return ERROR
    print(__doc__, file=sys.stderr)
    return ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
