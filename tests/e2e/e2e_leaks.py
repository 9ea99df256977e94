"""Where a release's secrets must never appear, whichever frontend it runs.

Every place an operator or another tenant can read (pod logs, events, ConfigMaps, pod and
Deployment specs, Helm's notes, its manifest outside the Secret, the output of every helm
command the suite ran) is searched for each secret value, plain and base64-encoded; and the
frontend's process environment for the AI key.
"""

from __future__ import annotations

import base64

from e2e_cluster import RELEASE, Release, helm, kubectl, kubectl_json

AI_KEY_VARIABLES = ("OPENAI_API_KEY", "GEMINI_API_KEY")


def _outside_secret_objects(manifest: str) -> str:
    """A multi-document manifest without its Secret documents."""
    documents = manifest.split("\n---")
    return "\n---".join(d for d in documents if "\nkind: Secret" not in d)


def readable_places(release: Release) -> dict[str, str]:
    """Every text an operator can read about the release, by where it comes from."""
    namespace = ("-n", release.namespace)
    pods = [p["metadata"]["name"] for p in kubectl_json(*namespace, "get", "pods")["items"]]
    notes = helm("get", "notes", RELEASE, "--namespace", release.namespace)
    manifest = helm("get", "manifest", RELEASE, "--namespace", release.namespace)
    assert notes.returncode == 0 and manifest.returncode == 0
    return {
        **{f"log of {pod}": kubectl(*namespace, "logs", pod, "--all-containers") for pod in pods},
        "events": kubectl(*namespace, "get", "events", "-o", "json"),
        "config maps": kubectl(*namespace, "get", "configmaps", "-o", "json"),
        "pods": kubectl(*namespace, "get", "pods", "-o", "json"),
        "deployments": kubectl(*namespace, "get", "deployments", "-o", "json"),
        "helm get notes": notes.stdout,
        "helm get manifest (outside the Secret)": _outside_secret_objects(manifest.stdout),
        **{f"helm {h['command']} output": h["output"] for h in release.history},
    }


def assert_no_secret_leaks(release: Release) -> None:
    """No secret value of the release, plain or base64, in any readable place."""
    values = release.secret_values()
    encoded = [base64.b64encode(v.encode()).decode() for v in values]
    for place, text in readable_places(release).items():
        for index, value in enumerate([*values, *encoded]):
            # The index names the secret without showing it.
            assert value not in text, f"secret #{index} appears in {place}"


def assert_frontend_lacks_ai_key(release: Release, *print_environment: str) -> None:
    """The running frontend's environment (printed by `print_environment`) has no AI key."""
    frontend = release.ready_pods("frontend")[0]
    environment = kubectl("-n", release.namespace, "exec", frontend, "--", *print_environment)
    names = {line.split("=", 1)[0] for line in environment.splitlines()}
    assert names, "the frontend's environment could not be read"
    assert names.isdisjoint(AI_KEY_VARIABLES), names & set(AI_KEY_VARIABLES)
    assert release.credentials["OPENAI_API_KEY"] not in environment, "the AI key is in the frontend"
