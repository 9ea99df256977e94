"""examples/values-nextjs.yaml: the Next.js + Better Auth frontend by values alone (issue 16).

The values name things the chart makes (the frontend Service in the JWKS URL, the public
URL as the token's issuer and audience); these tests check that they match what it renders.
"""

from pathlib import Path
from urllib.parse import urlsplit

import yaml
from support.manifests import by_kind, container

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "values-nextjs.yaml"
RELEASE = "todo-chatbot"
BACKEND = f"{RELEASE}-backend"
FRONTEND = f"{RELEASE}-frontend"
NEXT_IMAGE = "localhost:5001/todo-chatbot/frontend-next:"


def rendered(render):
    return render(yaml.safe_load(EXAMPLE.read_text()), release=RELEASE)


def env_values(deployment) -> dict[str, str]:
    return {var["name"]: var.get("value", "") for var in container(deployment)["env"]}


def test_the_frontend_runs_the_next_image_with_a_writable_cache(render):
    frontend = container(by_kind(rendered(render), "Deployment", FRONTEND))
    assert frontend["image"].startswith(NEXT_IMAGE)
    mounts = {mount["mountPath"] for mount in frontend["volumeMounts"]}
    assert {"/tmp", "/app/.next/cache"} <= mounts
    assert frontend["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_migration_job_runs_better_auths_migration_with_database_url_only(render):
    job = by_kind(rendered(render), "Job", f"{RELEASE}-migrations")
    main = job["spec"]["template"]["spec"]["containers"][0]
    assert main["image"].startswith(NEXT_IMAGE)
    assert main["command"] == ["node", "migrate.mjs"]
    assert [var["name"] for var in main["env"]] == ["DATABASE_URL"]


def test_the_backend_fetches_the_keys_of_the_rendered_frontend_service(render):
    manifests = rendered(render)
    backend_env = env_values(by_kind(manifests, "Deployment", BACKEND))
    jwks = urlsplit(backend_env["AUTH_JWKS_URL"])
    service = by_kind(manifests, "Service", FRONTEND)
    assert jwks.hostname == service["metadata"]["name"]
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == (jwks.port or 80)]
    assert jwks.path == "/api/auth/jwks"
    # Better Auth's issuer and audience are its baseURL, the frontend's PUBLIC_URL.
    public_url = by_kind(manifests, "ConfigMap", FRONTEND)["data"]["PUBLIC_URL"]
    assert backend_env["AUTH_JWT_ISSUER"] == backend_env["AUTH_JWT_AUDIENCE"] == public_url
    # The backend's NetworkPolicy lets it reach the frontend pods on that port.
    egress = by_kind(manifests, "NetworkPolicy", BACKEND)["spec"]["egress"]
    to_frontend = [
        rule
        for rule in egress
        for peer in rule.get("to", [])
        if peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
        == "frontend"
    ]
    assert to_frontend, "no egress rule from the backend to the frontend"
    frontend_port = container(by_kind(manifests, "Deployment", FRONTEND))["ports"][0]
    assert {p["port"] for rule in to_frontend for p in rule["ports"]} & {
        port["targetPort"],
        frontend_port["containerPort"],
        frontend_port.get("name"),
    }


def test_without_the_egress_switch_the_backend_cannot_reach_the_frontend(render):
    values = yaml.safe_load(EXAMPLE.read_text())
    values["networkPolicy"]["backendToFrontend"] = False
    egress = by_kind(render(values, release=RELEASE), "NetworkPolicy", BACKEND)["spec"]["egress"]
    peers = [peer for rule in egress for peer in rule.get("to", [])]
    assert all(
        peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
        != "frontend"
        for peer in peers
    )
