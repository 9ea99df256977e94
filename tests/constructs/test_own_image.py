"""The props that fit a component to an image not made for this chart (docs/contract.md)."""

import pytest
from support.manifests import (
    AUTH_SECRET,
    by_kind,
    container,
    env_names,
    managed_secrets,
    synth_backend,
)
from todo_chatbot import ProbeProps, Secrets, SecretsProps
from todo_chatbot.backend import PORT
from todo_chatbot.workload import METRICS_PORT, WRITABLE_VOLUME


def deployment_of(chart, secrets, **props):
    return by_kind(synth_backend(chart, secrets, **props), "Deployment")


def pod_of(chart, secrets, **props):
    return deployment_of(chart, secrets, **props)["spec"]["template"]["spec"]


def env_of(deployment):
    return {var["name"]: var for var in container(deployment)["env"]}


def test_container_port_drives_the_port_probes_and_service(chart, secrets):
    manifests = synth_backend(chart, secrets, container_port=8080)
    main = container(by_kind(manifests, "Deployment"))
    assert main["ports"] == [
        {"containerPort": 8080},
        {"containerPort": METRICS_PORT, "name": "metrics"},
    ]
    assert {main[f"{p}Probe"]["httpGet"]["port"] for p in ("liveness", "readiness", "startup")} == {
        8080
    }
    assert by_kind(manifests, "Service", "todo-chatbot-backend")["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": 8080}
    ]


def test_container_port_defaults_to_the_contract_port(chart, secrets):
    assert container(deployment_of(chart, secrets))["ports"] == [
        {"containerPort": PORT},
        {"containerPort": METRICS_PORT, "name": "metrics"},
    ]


def test_command_and_args_replace_the_image_entrypoint(chart, secrets):
    main = container(deployment_of(chart, secrets, command=("node", "server.js"), args=("--x",)))
    assert (main["command"], main["args"]) == (["node", "server.js"], ["--x"])


def test_no_command_keeps_the_image_entrypoint(chart, secrets):
    main = container(deployment_of(chart, secrets))
    assert "command" not in main and "args" not in main


def test_extra_env_vars_take_value_from(chart, secrets):
    extra = (
        {"name": "NODE_ENV", "value": "production"},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    )
    env = env_of(deployment_of(chart, secrets, extra_env_vars=extra))
    assert env["NODE_ENV"] == extra[0] and env["POD_IP"] == extra[1]


def test_extra_env_vars_may_take_a_name_env_names_freed(chart, secrets):
    deployment = deployment_of(
        chart,
        secrets,
        env_names={"LOG_LEVEL": "APP_LOG_LEVEL"},
        extra_env_vars=({"name": "LOG_LEVEL", "value": "debug"},),
    )
    assert [var["name"] for var in container(deployment)["env"]].count("LOG_LEVEL") == 1


def test_extra_env_from_config_map_and_secret(chart, secrets):
    main = container(
        deployment_of(chart, secrets, extra_env_vars_cm="app-env", extra_env_vars_secret="app-keys")
    )
    assert main["envFrom"][1:] == [
        {"configMapRef": {"name": "app-env"}},
        {"secretRef": {"name": "app-keys"}},
    ]


def test_env_names_rename_the_chart_variables(chart, secrets):
    names = {"BETTER_AUTH_SECRET": "JWT_SECRET", "AI_PROVIDER": "LLM_PROVIDER"}
    manifests = synth_backend(chart, secrets, env_names=names)
    env = env_of(by_kind(manifests, "Deployment"))
    assert "BETTER_AUTH_SECRET" not in env
    assert env["JWT_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "BETTER_AUTH_SECRET"
    config = by_kind(manifests, "ConfigMap")["data"]
    assert "AI_PROVIDER" not in config and config["LLM_PROVIDER"] == "openai"


def test_extra_secret_keys_reach_only_the_component_that_names_them(chart):
    secrets = Secrets(
        chart, "Secrets", props=managed_secrets(extra={"GROQ_API_KEY": "groq-from-a-test"})
    )
    deployment = deployment_of(chart, secrets, extra_secret_keys=("GROQ_API_KEY",))
    assert env_of(deployment)["GROQ_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "key": "GROQ_API_KEY",
        "name": "todo-chatbot",
        "optional": False,
    }


def test_an_existing_secret_takes_any_extra_key(chart):
    secrets = Secrets(chart, "Secrets", props=SecretsProps(existing_secret="creds"))
    deployment = deployment_of(chart, secrets, extra_secret_keys=("DEEPSEEK_API_KEY",))
    assert "DEEPSEEK_API_KEY" in env_names(deployment)


def test_fails_when_an_extra_secret_key_is_a_chart_variable(chart):
    secrets = Secrets(chart, "Secrets", props=SecretsProps(existing_secret="creds"))
    with pytest.raises(ValueError, match="'extra_secret_keys' names LOG_LEVEL, a variable the"):
        deployment_of(chart, secrets, extra_secret_keys=("LOG_LEVEL",))


def test_writable_paths_are_empty_dirs(chart, secrets):
    pod = pod_of(chart, secrets, writable_paths=("/app/.next/cache", "/var/run/app"))
    names = [WRITABLE_VOLUME.format(index=index) for index in range(2)]
    assert [v for v in pod["volumes"] if v["name"] in names] == [
        {"emptyDir": {}, "name": name} for name in names
    ]
    mounts = container({"spec": {"template": {"spec": pod}}})["volumeMounts"]
    assert mounts[1:] == [
        {"mountPath": "/app/.next/cache", "name": names[0]},
        {"mountPath": "/var/run/app", "name": names[1]},
    ]


def test_extra_volumes_and_mounts(chart, secrets):
    pod = pod_of(
        chart,
        secrets,
        extra_volumes=({"name": "certs", "secret": {"secretName": "ca"}},),
        extra_volume_mounts=({"name": "certs", "mountPath": "/certs", "readOnly": True},),
    )
    assert pod["volumes"][-1] == {"name": "certs", "secret": {"secretName": "ca"}}
    mounts = pod["containers"][0]["volumeMounts"]
    assert mounts[-1] == {"name": "certs", "mountPath": "/certs", "readOnly": True}


def test_security_contexts_merge_over_the_restricted_defaults(chart, secrets):
    pod = pod_of(
        chart,
        secrets,
        pod_security_context={"runAsUser": 1001, "fsGroup": 1001},
        container_security_context={"runAsUser": 1001, "runAsGroup": 1001},
    )
    assert pod["securityContext"]["runAsUser"] == 1001
    assert pod["securityContext"]["runAsNonRoot"] is True
    security = pod["containers"][0]["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (1001, 1001)
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}


def test_init_containers_sidecars_labels_priority_and_spread(chart, secrets):
    spread = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "X"}
    deployment = deployment_of(
        chart,
        secrets,
        init_containers=({"name": "wait", "image": "busybox:1.36"},),
        sidecars=({"name": "mcp", "image": "mcp:1"},),
        pod_labels={"example.com/team": "todo"},
        priority_class_name="high",
        topology_spread_constraints=(spread,),
    )
    template = deployment["spec"]["template"]
    pod = template["spec"]
    assert pod["initContainers"] == [{"name": "wait", "image": "busybox:1.36"}]
    assert pod["containers"][1] == {"name": "mcp", "image": "mcp:1"}
    assert template["metadata"]["labels"]["example.com/team"] == "todo"
    assert "example.com/team" not in deployment["spec"]["selector"]["matchLabels"]
    assert pod["priorityClassName"] == "high"
    assert pod["topologySpreadConstraints"] == [spread]


@pytest.mark.parametrize("probe", ["liveness", "readiness", "startup"])
def test_a_probe_can_be_turned_off(chart, secrets, probe):
    main = container(deployment_of(chart, secrets, **{probe: None}))
    assert f"{probe}Probe" not in main
    others = {"liveness", "readiness", "startup"} - {probe}
    assert all(f"{other}Probe" in main for other in others)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"container_port": 0}, "'container_port' must be a port, got 0"),
        ({"writable_paths": ("cache",)}, "'writable_paths' must hold absolute paths, got 'cache'"),
        ({"writable_paths": ("/",)}, "'writable_paths' must hold absolute paths, got '/'"),
        (
            {"extra_env_vars": ({"value": AUTH_SECRET},)},
            r"'extra_env_vars\[0\]' needs \['name'\], got keys \['value'\]",
        ),
        (
            {"extra_volume_mounts": ({"name": "x"},)},
            r"'extra_volume_mounts\[0\]' needs \['mountPath', 'name'\], got keys \['name'\]",
        ),
        (
            {"sidecars": ({"name": "mcp"},)},
            r"'sidecars\[0\]' needs \['image', 'name'\], got keys \['name'\]",
        ),
        ({"env_names": {"DATABASE_URL": "db-url"}}, "'env_names.DATABASE_URL' must be a variable"),
        (
            {"env_names": {"PORT": "HTTP_PORT"}},
            r"renames only variables the chart sets, got \['PORT'\]",
        ),
        (
            {"env_names": {"AI_MODEL": "LOG_LEVEL"}},
            r"'env_names' gives two variables the name \['LOG_LEVEL'\]",
        ),
        (
            {"extra_env_vars": ({"name": "DATABASE_URL", "value": "x"},)},
            r"'extra_env_vars\[0\]' sets DATABASE_URL, which the chart sets already; rename",
        ),
        (
            {"extra_env_vars": ({"name": "A", "value": "1"}, {"name": "A", "value": "2"})},
            r"'extra_env_vars\[1\]' sets A, as an earlier entry does",
        ),
        ({"extra_secret_keys": ("groq-key",)}, "'extra_secret_keys' must hold variable names"),
        ({"extra_secret_keys": ("GROQ_API_KEY",)}, "secret has no key 'GROQ_API_KEY'"),
        (
            {"liveness": ProbeProps(path="health", period_seconds=1, failure_threshold=1)},
            "'liveness.path' must start with '/', got 'health'",
        ),
    ],
)
def test_fails_when_own_image_props_are_invalid(chart, secrets, props, message):
    with pytest.raises(ValueError, match=message) as error:
        synth_backend(chart, secrets, **props)
    assert AUTH_SECRET not in str(error.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"GROQ API KEY": "x"}, "'extra' keys must be Secret keys"),
        ({"DATABASE_URL": "x"}, "'extra' keys must be Secret keys .* got 'DATABASE_URL'"),
        ({"GROQ_API_KEY": ""}, "'extra.GROQ_API_KEY' must not be empty"),
    ],
)
def test_fails_when_extra_secret_keys_are_invalid(chart, extra, message):
    with pytest.raises(ValueError, match=message):
        Secrets(chart, "Secrets", props=managed_secrets(extra=extra))


def test_extra_secret_values_stay_out_of_messages(chart):
    value = "groq-" + AUTH_SECRET
    with pytest.raises(ValueError) as error:
        Secrets(chart, "Secrets", props=managed_secrets(extra={"bad key": value}))
    assert value not in str(error.value)


def test_extra_secret_keys_join_the_managed_secret(chart):
    value = "groq-" + AUTH_SECRET
    secrets = Secrets(chart, "Secrets", props=managed_secrets(extra={"GROQ_API_KEY": value}))
    data = by_kind(list(chart.to_json()), "Secret")["stringData"]
    assert data["GROQ_API_KEY"] == value
    assert secrets.keys is not None and "GROQ_API_KEY" in secrets.keys
