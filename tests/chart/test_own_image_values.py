"""The values that deploy images not made for this chart (docs/contract.md), by values alone."""

import subprocess

import pytest
import yaml
from conftest import VERSION, tool_path
from support.manifests import all_of, by_kind, container
from test_render import SCENARIOS
from todo_chatbot import backend, frontend, values
from todo_chatbot.workload import (
    METRICS_PORT,
    WRITABLE_VOLUME,
    WorkloadProps,
    camel_case,
    chart_values,
)

BACKEND = "todo-todo-chatbot-backend"
FRONTEND = "todo-todo-chatbot-frontend"
OWN_IMAGE = SCENARIOS["own-image"]


def deployment(manifests, name=BACKEND):
    return by_kind(manifests, "Deployment", name)


def main_container(manifests, name=BACKEND):
    return deployment(manifests, name)["spec"]["template"]["spec"]["containers"][0]


def env_of(manifests, name=BACKEND):
    return {var["name"]: var for var in main_container(manifests, name)["env"]}


def new_knobs_off():
    """Every value this work added, set explicitly to what turns it off.

    Taken from the constructs (their props' defaults and the contract ports), not from
    values.yaml, so a default that drifts in the values model shows up here.
    """
    component = {
        camel_case(prop.name): list(prop.default) if isinstance(prop.default, tuple) else {}
        for prop in chart_values(WorkloadProps)
    }
    component = {
        key: ("" if key in ("extraEnvVarsCM", "extraEnvVarsSecret", "priorityClassName") else v)
        for key, v in component.items()
    }
    probes = {name: {"enabled": True} for name in ("liveness", "readiness", "startup")}
    return {
        "global": {"imageRegistry": ""},
        "commonLabels": {},
        "commonAnnotations": {},
        "extraDeploy": [],
        "backend": {
            **component,
            "containerPorts": {"http": backend.PORT},
            "publicPath": "",
            "probes": probes,
        },
        "frontend": {**component, "containerPorts": {"http": frontend.PORT}, "probes": probes},
        "networkPolicy": {
            "extraEgress": {"backend": [], "frontend": [], "migrations": []},
            "backendToFrontend": False,
            "ingressNamespace": "",
        },
        "migrations": {"enabled": False},
        "tests": {"image": {"repository": ""}, "command": []},
    }


def values_files(tmp_path, name, value_sets):
    """Write each value set to a file; return helm's `-f` arguments naming them in order."""
    files = []
    for index, value_set in enumerate(value_sets):
        path = tmp_path / f"{name}-{index}.yaml"
        path.write_text(yaml.safe_dump(value_set))
        files += ["-f", str(path)]
    return files


def helm_template(helm, chart_dir, tmp_path, *value_sets):
    files = values_files(tmp_path, "values", value_sets)
    result = subprocess.run(
        [helm, "template", "todo", str(chart_dir), *files],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.parametrize("scenario", ["defaults", "existing-secret", "ingress-tls", "http-route"])
def test_the_new_knobs_at_their_defaults_change_no_byte(
    helm, chart_dir, tmp_path, credentials, scenario
):
    base = {"secrets": dict(credentials), **SCENARIOS[scenario]}
    if "existingSecret" in SCENARIOS[scenario].get("secrets", {}):
        base["secrets"] = SCENARIOS[scenario]["secrets"]
    assert helm_template(helm, chart_dir, tmp_path, base) == helm_template(
        helm, chart_dir, tmp_path, base, new_knobs_off()
    )


def test_the_knobs_off_cover_every_new_component_value():
    declared = set(values.as_dict(values.Values())["backend"])
    assert set(new_knobs_off()["backend"]) <= declared
    assert {camel_case(prop.name) for prop in chart_values(WorkloadProps)} <= set(
        new_knobs_off()["backend"]
    )


def test_container_port_drives_every_port(render):
    manifests = render(OWN_IMAGE)
    main = main_container(manifests)
    assert main["ports"] == [
        {"containerPort": 8080},
        {"containerPort": METRICS_PORT, "name": "metrics"},
    ]
    assert {main[p]["httpGet"]["port"] for p in ("livenessProbe", "readinessProbe")} == {8080}
    service = by_kind(manifests, "Service", BACKEND)["spec"]["ports"][0]
    assert (service["port"], service["targetPort"]) == (8080, 8080)
    front = by_kind(manifests, "Service", FRONTEND)["spec"]["ports"][0]
    assert (front["port"], front["targetPort"]) == (80, 8081)
    policy = by_kind(manifests, "NetworkPolicy", BACKEND)["spec"]
    assert policy["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    to_frontend = policy["egress"][3]
    assert to_frontend["ports"] == [{"port": 8081, "protocol": "TCP"}]
    frontend_policy = by_kind(manifests, "NetworkPolicy", FRONTEND)["spec"]
    assert frontend_policy["ingress"][0]["ports"] == [{"port": 8081, "protocol": "TCP"}]
    assert frontend_policy["egress"][2]["ports"] == [{"port": 8080, "protocol": "TCP"}]
    config = by_kind(manifests, "ConfigMap", FRONTEND)["data"]
    assert config["API_URL"] == f"http://{BACKEND}:8080"


def test_env_names_rename_variables_in_env_and_config_maps(render):
    manifests = render(OWN_IMAGE)
    env = env_of(manifests)
    assert "BETTER_AUTH_SECRET" not in env
    assert env["JWT_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "BETTER_AUTH_SECRET"
    config = by_kind(manifests, "ConfigMap", BACKEND)["data"]
    assert config["LLM_PROVIDER"] == "openai" and "AI_PROVIDER" not in config


def test_extra_variables_env_from_and_secret_keys(render):
    manifests = render(OWN_IMAGE)
    env = env_of(manifests)
    for var in OWN_IMAGE["backend"]["extraEnvVars"]:
        assert env[var["name"]] == var
    assert env["GROQ_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "key": "GROQ_API_KEY",
        "name": "todo-todo-chatbot",
        "optional": False,
    }
    assert "GROQ_API_KEY" not in env_of(manifests, FRONTEND)
    assert main_container(manifests)["envFrom"][1:] == [
        {"configMapRef": {"name": "todo-env"}},
        {"secretRef": {"name": "todo-more-keys"}},
    ]
    assert "GROQ_API_KEY" in by_kind(manifests, "Secret", "todo-todo-chatbot")["data"]


def test_writable_paths_mount_volumes_of_the_pod(render):
    manifests = render(OWN_IMAGE)
    pod = deployment(manifests)["spec"]["template"]["spec"]
    mounts = {mount["mountPath"]: mount["name"] for mount in pod["containers"][0]["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for path in [*OWN_IMAGE["backend"]["writablePaths"], "/tmp", "/etc/ca"]:
        assert mounts[path] in volumes, path
    assert volumes[mounts["/app/.cache"]] == {"emptyDir": {}, "name": mounts["/app/.cache"]}
    assert main_container(manifests)["securityContext"]["readOnlyRootFilesystem"] is True


def test_writable_volumes_are_named_as_the_constructs_name_them(render):
    # _helpers.tpl repeats workload.WRITABLE_VOLUME: the copy must match.
    pod = deployment(render(OWN_IMAGE))["spec"]["template"]["spec"]
    paths = OWN_IMAGE["backend"]["writablePaths"]
    names = [WRITABLE_VOLUME.format(index=index) for index in range(len(paths))]
    assert [m["name"] for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] in paths] == (
        names
    )


def test_security_contexts_merge_over_the_restricted_defaults(render):
    pod = deployment(render(OWN_IMAGE))["spec"]["template"]["spec"]
    assert pod["securityContext"] == {
        "fsGroup": 1001,
        "fsGroupChangePolicy": "Always",
        "runAsGroup": 1001,
        "runAsNonRoot": True,
        "runAsUser": 1001,
    }
    security = pod["containers"][0]["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (1001, 1001)
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}


def test_pod_knobs_land_where_kubernetes_reads_them(render):
    manifests = render(OWN_IMAGE)
    workload = deployment(manifests)
    pod = workload["spec"]["template"]["spec"]
    own = OWN_IMAGE["backend"]
    assert pod["initContainers"] == own["initContainers"]
    assert pod["containers"][1:] == own["sidecars"]
    assert pod["priorityClassName"] == "high"
    assert pod["topologySpreadConstraints"] == own["topologySpreadConstraints"]
    assert (pod["containers"][0]["command"], pod["containers"][0]["args"]) == (
        own["command"],
        own["args"],
    )
    labels = workload["spec"]["template"]["metadata"]["labels"]
    assert labels["example.com/team"] == "todo"
    assert "example.com/team" not in workload["spec"]["selector"]["matchLabels"]


def test_probes_follow_their_paths_and_can_be_turned_off(render):
    manifests = render(OWN_IMAGE)
    main = main_container(manifests)
    assert main["livenessProbe"]["httpGet"]["path"] == "/api/health"
    assert "startupProbe" not in main
    front = main_container(manifests, FRONTEND)
    assert "livenessProbe" not in front and "startupProbe" in front


def test_helm_test_runs_a_wget_check_in_tests_image(render):
    pod = by_kind(render(OWN_IMAGE), "Pod")
    check = pod["spec"]["containers"][0]
    assert check["image"] == "registry.example/library/busybox:1.36"
    assert check["command"][:2] == ["sh", "-c"] and "wget" in check["command"][2]
    assert "python" not in " ".join(check["command"])
    assert check["command"][4:] == [
        f"http://{FRONTEND}:80/healthz",
        f"http://{BACKEND}:8080/api/health",
    ]


def test_helm_test_command_replaces_the_check(render):
    values = {"tests": {"command": ["/check"]}, "frontend": {"service": {"port": 8080}}}
    check = by_kind(render(values), "Pod")["spec"]["containers"][0]
    assert check["command"] == ["/check"]
    assert check["args"] == [f"http://{FRONTEND}:8080/healthz", f"http://{BACKEND}:8000/readyz"]
    assert check["image"] == f"localhost:5001/todo-chatbot/backend:{VERSION}"


def test_global_image_registry_replaces_every_registry(render):
    manifests = render({**OWN_IMAGE, "migrations": {"enabled": True}})
    images = [
        main_container(manifests)["image"],
        main_container(manifests, FRONTEND)["image"],
        container(by_kind(manifests, "Job"))["image"],
    ]
    assert images == [
        f"registry.example/todo-chatbot/backend:{VERSION}",
        f"registry.example/todo-chatbot/frontend:{VERSION}",
        f"registry.example/todo-chatbot/backend:{VERSION}",
    ]


def test_common_labels_and_annotations_reach_every_object_but_no_selector(render):
    manifests = render(
        {
            **OWN_IMAGE,
            "ingress": {"enabled": True, "annotations": {"a.example/b": "c"}},
            "migrations": {"enabled": True},
        }
    )
    for manifest in manifests:
        metadata = manifest["metadata"]
        assert metadata["labels"]["example.com/owner"] == "todo", manifest["kind"]
        assert metadata["annotations"]["example.com/contact"] == "ops", manifest["kind"]
    assert by_kind(manifests, "Ingress")["metadata"]["annotations"]["a.example/b"] == "c"
    selector = deployment(manifests)["spec"]["selector"]["matchLabels"]
    assert "example.com/owner" not in selector
    pods = [
        deployment(manifests)["spec"]["template"],
        by_kind(manifests, "Job")["spec"]["template"],
    ]
    assert all(pod["metadata"]["labels"]["example.com/owner"] == "todo" for pod in pods)


def test_extra_deploy_renders_objects_and_strings_with_tpl(render):
    manifests = render(SCENARIOS["extra-deploy"])
    assert by_kind(manifests, "Service", "todo-mcp")["spec"]["ports"] == [{"port": 9000}]
    assert by_kind(manifests, "ConfigMap", "todo-mcp")["data"] == {"BACKEND": "8000"}


def test_public_path_routes_to_the_backend_and_admits_the_ingress_namespace(render):
    manifests = render(SCENARIOS["public-path"])
    paths = by_kind(manifests, "Ingress")["spec"]["rules"][0]["http"]["paths"]
    assert [(p["path"], p["backend"]["service"]["name"]) for p in paths] == [
        ("/", FRONTEND),
        ("/api", BACKEND),
    ]
    rules = by_kind(manifests, "HTTPRoute")["spec"]["rules"]
    assert rules[1]["matches"][0]["path"] == {"type": "PathPrefix", "value": "/api"}
    assert rules[1]["backendRefs"][0] == {"name": BACKEND, "port": 8000}
    _, from_ingress = by_kind(manifests, "NetworkPolicy", BACKEND)["spec"]["ingress"]
    namespace = from_ingress["from"][0]["namespaceSelector"]["matchLabels"]
    assert namespace == {"kubernetes.io/metadata.name": "ingress-nginx"}


def test_the_backend_stays_internal_without_a_public_path(render):
    manifests = render({"ingress": {"enabled": True}, "networkPolicy": {"ingressNamespace": "x"}})
    paths = by_kind(manifests, "Ingress")["spec"]["rules"][0]["http"]["paths"]
    assert [p["backend"]["service"]["name"] for p in paths] == [FRONTEND]
    assert len(by_kind(manifests, "NetworkPolicy", BACKEND)["spec"]["ingress"]) == 1


def test_extra_egress_and_backend_to_frontend(render):
    manifests = render(OWN_IMAGE)
    frontend_egress = by_kind(manifests, "NetworkPolicy", FRONTEND)["spec"]["egress"]
    assert frontend_egress[-1] == OWN_IMAGE["networkPolicy"]["extraEgress"]["frontend"][0]
    egress = by_kind(manifests, "NetworkPolicy", BACKEND)["spec"]["egress"]
    labels = egress[-1]["to"][0]["podSelector"]["matchLabels"]
    assert labels["app.kubernetes.io/component"] == "frontend"
    assert len(by_kind(render(), "NetworkPolicy", BACKEND)["spec"]["egress"]) == 3


def test_migrations_run_as_a_hook_with_database_url_only(render):
    manifests = render(SCENARIOS["migrations"])
    job = by_kind(manifests, "Job", "todo-todo-chatbot-migrations")
    assert job["metadata"]["annotations"] == {
        "helm.sh/hook": "pre-install,pre-upgrade",
        "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
        "helm.sh/hook-weight": "0",
    }
    main = container(job)
    assert main["command"] == ["alembic", "upgrade", "head"]
    assert main["image"] == main_container(manifests)["image"]
    (database_url,) = main["env"]
    assert database_url["valueFrom"]["secretKeyRef"]["name"] == "todo-todo-chatbot-migrations"
    # The release's Secret does not exist yet at pre-install: the Job gets its own first.
    secret = by_kind(manifests, "Secret", "todo-todo-chatbot-migrations")
    assert set(secret["data"]) == {"DATABASE_URL"}
    policy = by_kind(manifests, "NetworkPolicy", "todo-todo-chatbot-migrations")
    for hook in (secret, policy):
        assert int(hook["metadata"]["annotations"]["helm.sh/hook-weight"]) < 0
        assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= (
        job["spec"]["template"]["metadata"]["labels"].items()
    )


def test_migration_network_policy_takes_extra_egress(render):
    https = {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
        "ports": [{"port": 443, "protocol": "TCP"}],
    }
    values = {**SCENARIOS["migrations"], "networkPolicy": {"extraEgress": {"migrations": [https]}}}
    policy = by_kind(render(values), "NetworkPolicy", "todo-todo-chatbot-migrations")
    assert policy["spec"]["egress"][-1] == https


def test_migrations_with_an_existing_secret_read_it(render):
    manifests = render(SCENARIOS["migrations-existing-secret"], with_credentials=False)
    assert all_of(manifests, "Secret") == []
    main = container(by_kind(manifests, "Job"))
    assert main["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "creds"
    assert main["image"] == "todo/migrate:1"


def test_no_migration_objects_by_default(render):
    manifests = render()
    assert all_of(manifests, "Job") == []
    assert [m["metadata"]["name"] for m in all_of(manifests, "Secret")] == ["todo-todo-chatbot"]


def notes_of(chart_dir, tmp_path, *value_sets):
    # Helm 4: Helm 3 wants a reachable cluster even for a client-side dry run.
    files = values_files(tmp_path, "notes", value_sets)
    result = subprocess.run(
        [tool_path("helm"), "install", "todo", str(chart_dir), *files, "--dry-run=client"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split("NOTES:", 1)[1]


def test_the_new_knobs_at_their_defaults_change_no_note(chart_dir, tmp_path, credentials):
    base = {"secrets": credentials}
    assert notes_of(chart_dir, tmp_path, base) == notes_of(
        chart_dir, tmp_path, base, new_knobs_off()
    )


def test_notes_say_what_a_security_value_turns_off_and_warn_of_a_public_backend(
    chart_dir, tmp_path, credentials
):
    values = {
        **SCENARIOS["public-path"],
        "secrets": credentials,
        "backend": {
            "publicPath": "/api",
            "containerSecurityContext": {"readOnlyRootFilesystem": False},
        },
        "migrations": {"enabled": True},
    }
    notes = notes_of(chart_dir, tmp_path, values)
    assert "Migrations: the Job todo-todo-chatbot-migrations ran before" in notes
    assert (
        "Security: backend.containerSecurityContext.readOnlyRootFilesystem=false overrides "
        "the read-only root filesystem." in notes
    )
    assert "The backend's API is EXPOSED TO BROWSERS under http://todo.example.com/api" in notes
