"""Issue #10, bring your own images: an image with a foreign contract, deployed by values alone.

The fixture image (app/foreign) follows none of docs/contract.md: port 8080, uid 1001,
JWT_SECRET / LLM_PROVIDER / API_URL instead of the chart's names, probes on /api/health and
/api/ready, a writable /app/.next/cache, and a migration command of its own. The release is
installed with examples/values-foreign-contract.yaml as it stands, on top of the local
cluster's values (Release.full_values: the release's own Secret, NodePort and egress), pinned
to the image just pushed. It must be Ready, pass `helm test`, run its migration once per
install and upgrade (and stop an upgrade whose migration fails, serving on), lose no request
during a config upgrade, and give each pod exactly the secrets its values name.
"""

from __future__ import annotations

import datetime
import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, ReleaseFactory, installed_and_served
from e2e_cluster import (
    FULLNAME,
    RELEASE,
    Release,
    helm,
    host_pid,
    kubectl,
    kubectl_json,
    paths,
)
from e2e_user import AppUser, Load, UserAgent
from localcluster import images
from support.fixture_images import build_fixture_images
from support.secret import Secret

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

EXAMPLE = REPO / "examples" / "values-foreign-contract.yaml"
NODE_PORT = 30110
PORT = 8080
UID = "1001"
# The key the example gives the backend alone (backend.extraSecretKeys).
EXTRA_KEY = "GROQ_API_KEY"
SETTLE_SECONDS = 3
# What each component's process must receive (under the image's names) and must not.
RECEIVES = {
    "backend": {"DATABASE_URL", "JWT_SECRET", "LLM_PROVIDER", "OPENAI_API_KEY", EXTRA_KEY},
    "frontend": {"DATABASE_URL", "JWT_SECRET", "API_URL"},
}
NEVER = {
    "backend": {"BETTER_AUTH_SECRET", "AI_PROVIDER", "GEMINI_API_KEY"},
    "frontend": {
        "BETTER_AUTH_SECRET",
        "BACKEND_URL",
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        EXTRA_KEY,
    },
}


@pytest.fixture(scope="module")
def foreign_digest(cluster: None) -> str:
    """The fixture image, built if needed and pushed to the local registry: its digest."""
    build_fixture_images()
    images.push_all(paths())
    return images.digest(paths(), "foreign")


def example_values(digest: str) -> dict[str, Any]:
    """The example file, pinned to the pushed build; the release's own Secret is used."""
    values: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    # Release.full_values names the release's Secret (the example names an operator's).
    del values["secrets"]
    for section in (values["backend"], values["frontend"]):
        section["image"]["digest"] = digest
    return values


@pytest.fixture(scope="module")
def foreign(new_release: ReleaseFactory, foreign_digest: str, user_agent: UserAgent) -> Release:
    """The release of the example values, installed once for the module."""
    release = new_release("foreign", NODE_PORT, values=example_values(foreign_digest))
    release.credentials[EXTRA_KEY] = Secret(secrets.token_urlsafe(32))
    release.create_secret()
    return installed_and_served(release, user_agent, path="/api/health")


def migration_runs(release: Release) -> list[datetime.datetime]:
    """When each migration of the release ran, oldest first (the image records every run)."""
    rows = release.schema.query("SELECT ran_at FROM foreign_migration_runs ORDER BY id")
    return [row[0] for row in rows]


def received_variables(release: Release, pod: str) -> set[str]:
    """The names of the variables the pod's process got (the image reports names only)."""
    [(status, body)] = release.http_in_pod(pod, [{"url": f"http://127.0.0.1:{PORT}/api/env"}])
    assert status == 200, body[:300]
    names: list[str] = json.loads(body)["variables"]
    return set(names)


def pod_names(release: Release) -> set[str]:
    return {p["metadata"]["name"] for c in ("backend", "frontend") for p in release.pods(c)}


def created_at(pod: dict[str, Any]) -> datetime.datetime:
    stamp: str = pod["metadata"]["creationTimestamp"]
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_install_is_ready_and_migrated_once_before_the_pods_started(foreign: Release) -> None:
    for component in ("backend", "frontend"):
        assert len(foreign.ready_pods(component)) == 1, component
    status = helm("status", RELEASE, "--namespace", foreign.namespace, "-o", "json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["info"]["status"] == "deployed"
    [ran_at] = migration_runs(foreign)
    first_pod = min(created_at(p) for c in ("backend", "frontend") for p in foreign.pods(c))
    assert ran_at.replace(microsecond=0) <= first_pod
    # The hook Job is deleted once it succeeded.
    assert kubectl_json("-n", foreign.namespace, "get", "jobs")["items"] == []


def test_the_migration_job_gets_the_database_url_and_no_other_secret(foreign: Release) -> None:
    hooks = helm("get", "hooks", RELEASE, "--namespace", foreign.namespace)
    assert hooks.returncode == 0, hooks.stderr
    [job] = [doc for doc in yaml.safe_load_all(hooks.stdout) if doc and doc["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    containers = pod["containers"] + pod.get("initContainers", [])
    secret_keys = {
        variable["valueFrom"]["secretKeyRef"]["key"]
        for container in containers
        for variable in container.get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    assert secret_keys == {"DATABASE_URL"}
    assert not [s for c in containers for s in c.get("envFrom", []) if "secretRef" in s]


def test_helm_test_passes(foreign: Release) -> None:
    result = helm("test", RELEASE, "--namespace", foreign.namespace, "--timeout=90s")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "Phase:          Succeeded" in result.stdout


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_runs_as_uid_1001_on_port_8080(foreign: Release, component: str) -> None:
    [pod] = foreign.pods(component)
    [container] = pod["spec"]["containers"]
    # The app's port comes first; the chart's metrics port follows, named `metrics`.
    assert container["ports"][0]["containerPort"] == PORT
    lines = Path(f"/proc/{host_pid(pod)}/status").read_text().splitlines()
    for prefix in ("Uid:", "Gid:"):
        assert next(line for line in lines if line.startswith(prefix)).split()[1:] == [UID] * 4


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_each_pod_gets_only_the_secrets_its_values_name(foreign: Release, component: str) -> None:
    [pod] = foreign.ready_pods(component)
    names = received_variables(foreign, pod)
    assert RECEIVES[component] <= names, RECEIVES[component] - names
    assert not NEVER[component] & names, NEVER[component] & names
    log = kubectl("-n", foreign.namespace, "logs", pod)
    leaked = [i for i, value in enumerate(foreign.secret_values()) if value in log]
    assert leaked == [], f"secret values #{leaked} appear in the {component}'s log"


def test_the_user_adds_an_item_through_the_frontend_and_the_backend(
    foreign: Release, user_agent: UserAgent
) -> None:
    page = user_agent.request("GET", foreign.url + "/")
    assert page.status == 200
    assert "hello from the frontend" in page.text
    title = f"foreign {secrets.token_hex(4)}"
    created = user_agent.request("POST", foreign.url + "/api/items", json_body={"title": title})
    assert created.status == 201, (created.status, created.error, created.text[:300])
    assert created.headers["x-instance"] == foreign.ready_pods("frontend")[0]
    stored = foreign.schema.query("SELECT title FROM items WHERE id = %s", [created.json()["id"]])
    assert stored == [(title,)]


def test_a_config_upgrade_migrates_once_more_and_loses_no_request(
    foreign: Release, user_agent: UserAgent, figures: dict[str, Any]
) -> None:
    before = pod_names(foreign)
    runs_before = migration_runs(foreign)
    greeting = {"extraEnvVars": [{"name": "GREETING", "value": "hello after the upgrade"}]}
    with Load(AppUser(user_agent, foreign.url), path="/api/items", create_every=5) as load:
        time.sleep(SETTLE_SECONDS)
        foreign.upgrade({"backend": greeting, "frontend": greeting})
        time.sleep(SETTLE_SECONDS)
    figures.setdefault("failed_requests", {})["helm upgrade (foreign image)"] = len(load.failures)

    assert load.failures == [], load.failures
    assert load.succeeded > 20, load.summary
    stored = {row[0] for row in foreign.schema.query("SELECT id FROM items")}
    assert set(load.summary["created"]) <= stored
    assert pod_names(foreign).isdisjoint(before), "the config change left pods running"
    page = user_agent.request("GET", foreign.url + "/")
    assert "hello after the upgrade" in page.text
    runs = migration_runs(foreign)
    assert runs[: len(runs_before)] == runs_before
    assert len(runs) == len(runs_before) + 1
    new_pods = [p for c in ("backend", "frontend") for p in foreign.pods(c)]
    assert runs[-1].replace(microsecond=0) <= min(created_at(p) for p in new_pods)


def test_a_failing_migration_stops_the_upgrade_and_the_release_keeps_serving(
    foreign: Release, user_agent: UserAgent
) -> None:
    before = pod_names(foreign)
    runs_before = migration_runs(foreign)
    # The image's migrate command refuses an argument it does not know: the Job fails.
    refused = {"migrations": {"command": ["python", "-m", "foreign", "migrate", "--refused"]}}
    result = foreign.helm("upgrade", extra=refused, args=("--wait", "--timeout=120s"))
    assert result.returncode != 0
    assert f"{FULLNAME}-migrations" in result.stderr + result.stdout, result.stderr[-800:]
    assert pod_names(foreign) == before
    assert migration_runs(foreign) == runs_before
    listed = user_agent.request("GET", foreign.url + "/api/items")
    assert listed.status == 200, (listed.status, listed.error)
