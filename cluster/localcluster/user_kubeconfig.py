"""The cluster's context in the user's kubeconfig, as `kind create cluster` adds its own.

`up` merges a cluster, a user and a context named CONTEXT into the first file of $KUBECONFIG
(else ~/.kube/config) and makes it current, so plain `kubectl` reaches the cluster; `down`
removes exactly those three entries, gives back the current context they replaced, and deletes
the file (and its folder) only when `up` created it and nothing else was added since. The file
`up` wrote to is recorded in the state folder, so `down` cleans it whatever $KUBECONFIG says
then; without that record it cleans the user's kubeconfig of entries that point at this
cluster. Edits go through the built kubectl (`kubectl config`), which the runtime needs anyway
and which keeps the rest of the file as kubectl itself would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import settings
from .progress import say
from .settings import Paths
from .shell import run

# The name of the cluster, the user and the context that `up` adds: they are ours to remove.
CONTEXT = "todo-chatbot"


def target(paths: Paths, env: Mapping[str, str]) -> Path | None:
    """The kubeconfig kubectl reads first for this user, or None when it is the cluster's own.

    A user who exported KUBECONFIG=$STATE/kubeconfig already reaches the cluster; `down` removes
    that file with the state folder, so nothing is merged into it.
    """
    listed = [entry for entry in env.get("KUBECONFIG", "").split(os.pathsep) if entry]
    first = Path(listed[0]) if listed else Path(env.get("HOME") or Path.home()) / ".kube" / "config"
    if first.absolute().is_relative_to(paths.state):
        return None
    return first


def _record(paths: Paths) -> Path:
    return paths.state / "user-kubeconfig.json"


def _kubectl_config(paths: Paths, kubeconfig: Path, *args: str, check: bool = True) -> str:
    """Run `kubectl config <args>` on one kubeconfig file (created by kubectl when missing)."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return run([paths.bin / "kubectl", "config", *args], env=env, check=check).stdout


def current_context(paths: Paths, kubeconfig: Path) -> str:
    """The file's current context, or "" when it sets none (or does not exist)."""
    return _kubectl_config(paths, kubeconfig, "view", "-o", "jsonpath={.current-context}")


def merge(paths: Paths, env: Mapping[str, str]) -> Path | None:
    """Add (or refresh) our cluster, user and context in the user's kubeconfig; make it current.

    Returns the file written, or None when the user's kubeconfig is the cluster's own.
    """
    kubeconfig = target(paths, env)
    if kubeconfig is None:
        return None
    record = _record(paths)
    if not record.exists():
        folder = kubeconfig.parent
        state = {
            "kubeconfig": str(kubeconfig.absolute()),
            "previous_context": current_context(paths, kubeconfig),
            "created_file": not kubeconfig.exists(),
            "created_folder": not folder.exists(),
        }
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(state, indent=2) + "\n")
    pki = paths.pki
    steps = [
        [
            "set-cluster",
            CONTEXT,
            f"--server={settings.API_URL}",
            f"--certificate-authority={pki / 'ca.crt'}",
            "--embed-certs=true",
        ],
        [
            "set-credentials",
            CONTEXT,
            f"--client-certificate={pki / 'admin.crt'}",
            f"--client-key={pki / 'admin.key'}",
            "--embed-certs=true",
        ],
        ["set-context", CONTEXT, f"--cluster={CONTEXT}", f"--user={CONTEXT}"],
        ["use-context", CONTEXT],
    ]
    for args in steps:
        _kubectl_config(paths, kubeconfig, *args)
    return kubeconfig


def remove(paths: Paths, env: Mapping[str, str]) -> None:
    """Undo `merge`: our entries go, the previous current context comes back, nothing else moves.

    Without the record (the state folder was deleted, or `up` stopped before it merged), the
    user's kubeconfig of `env` loses our entries only when our cluster entry points at this
    cluster's apiserver, and the file stays.
    """
    record = _record(paths)
    state = json.loads(record.read_text()) if record.exists() else None
    kubeconfig = Path(state["kubeconfig"]) if state else target(paths, env)
    if kubeconfig is None or not kubeconfig.exists():
        return
    if not os.access(paths.bin / "kubectl", os.X_OK):
        say(f"kubectl is not built: remove the context {CONTEXT} from {kubeconfig} by hand")
        return
    if state is None and _our_server(paths, kubeconfig) != settings.API_URL:
        return
    if current_context(paths, kubeconfig) == CONTEXT:
        previous = state["previous_context"] if state else ""
        restore = ["use-context", previous] if previous else ["unset", "current-context"]
        _kubectl_config(paths, kubeconfig, *restore, check=False)
    for kind in ("context", "cluster", "user"):
        _kubectl_config(paths, kubeconfig, f"delete-{kind}", CONTEXT, check=False)
    if state and state["created_file"] and _is_empty(paths, kubeconfig):
        kubeconfig.unlink()
        if state["created_folder"] and not any(kubeconfig.parent.iterdir()):
            kubeconfig.parent.rmdir()


def _view(paths: Paths, kubeconfig: Path) -> dict[str, Any]:
    return dict(json.loads(_kubectl_config(paths, kubeconfig, "view", "--raw", "-o", "json")))


def _our_server(paths: Paths, kubeconfig: Path) -> str:
    """The server of the file's cluster entry named CONTEXT, or "" when there is none.

    Read from the JSON view: kubectl's jsonpath filter fails on a file without clusters.
    """
    clusters = _view(paths, kubeconfig).get("clusters") or []
    ours = [entry["cluster"].get("server", "") for entry in clusters if entry["name"] == CONTEXT]
    return ours[0] if ours else ""


def _is_empty(paths: Paths, kubeconfig: Path) -> bool:
    """Whether the file holds no cluster, user, context, current context or preference."""
    config = _view(paths, kubeconfig)
    return not any(
        config.get(key) for key in ("clusters", "users", "contexts", "current-context")
    ) and not (config.get("preferences") or {})
