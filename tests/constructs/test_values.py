"""The values model: the one source of values.yaml, the schema and the README table."""

import importlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes.utils import parse_quantity
from todo_chatbot import (
    AutoscalingProps,
    BackendProps,
    FrontendProps,
    NetworkPolicyProps,
    WorkloadProps,
    values,
)
from todo_chatbot.choices import AI_PROVIDERS, LOG_LEVELS, PULL_POLICIES, SERVICE_TYPES
from todo_chatbot.workload import camel_case, chart_values

CHART = Path(__file__).resolve().parents[2] / "dist" / "todo-chatbot"


@pytest.fixture(scope="module")
def defaults():
    return values.Values()


def test_values_yaml_holds_the_model_defaults(defaults):
    assert yaml.safe_load(values.values_yaml(defaults)) == values.as_dict(defaults)


def test_every_key_is_documented(defaults):
    text = values.values_yaml(defaults)
    for path in values.value_paths(defaults):
        assert f"## @param {path} " in text


def test_defaults_satisfy_the_schema(defaults):
    document = yaml.safe_load(values.values_yaml(defaults))
    jsonschema.Draft7Validator(values.values_schema()).validate(document)


def test_schema_rejects_unknown_keys_and_bad_types():
    validator = jsonschema.Draft7Validator(values.values_schema())
    assert not validator.is_valid({"backend": {"replicas": 2}})
    assert not validator.is_valid({"backend": {"replicaCount": -1}})
    assert not validator.is_valid({"ai": {"provider": "anthropic"}})


def test_secret_values_have_no_defaults_and_no_patterns(defaults):
    secrets = dict(vars(defaults.secrets))
    # The ExternalSecret's values say where secrets live, never hold one; none by default.
    assert secrets.pop("externalSecret").remoteRefs == {}
    # existingSecretFrontendDatabaseUrl, a switch, is the one that is not a secret.
    assert all(value in ("", {}, False) for value in secrets.values())
    schema = values.values_schema()["properties"]["secrets"]["properties"]
    schema.pop("externalSecret")
    extra = schema.pop("extra")
    assert all(set(field) == {"type", "description"} for field in schema.values())
    # Helm prints a value that fails a pattern: only the keys of `extra` have one.
    assert list(extra["patternProperties"].values()) == [{"type": "string"}]


def test_readme_table_lists_every_value(defaults):
    table = values.parameters_table(defaults)
    for path in values.value_paths(defaults):
        assert f"| `{path}` |" in table


def test_templates_use_every_value_and_only_known_ones(defaults):
    text = "\n".join(p.read_text() for p in (CHART / "templates").rglob("*") if p.is_file())
    used = set(re.findall(r"\.Values\.([A-Za-z0-9_.]+)", text))
    leaves = set(values.value_paths(defaults))
    sections = {path.rsplit(".", 1)[0] for path in leaves}
    sections |= {path.rsplit(".", 1)[0] for path in sections if "." in path}
    assert used - leaves - sections == set(), "templates use values the model lacks"
    for leaf in leaves:
        assert leaf in used or leaf.rsplit(".", 1)[0] in used, f"{leaf} is never used"


def test_committed_schema_is_the_model(defaults):
    assert json.loads((CHART / "values.schema.json").read_text()) == values.values_schema()


def prop(props, name):
    return values.default_of(props, name)


def component_defaults(props):
    """A component's chart defaults, as its construct props define them."""
    # The CPU quantities are read back by Kubernetes' own parser (the test below), not
    # written again here with values.cpu_quantity.
    mebibytes = {
        f"resources.{kind}.{name}": f"{prop(props, f'{field}_{kind[:-1]}_mebibytes')}Mi"
        for kind in ("requests", "limits")
        for name, field in (("memory", "memory"), ("ephemeral-storage", "ephemeral_storage"))
    }
    probes = {
        name: {
            "enabled": prop(props, name) is not None,
            "path": prop(props, name).path,
            "periodSeconds": prop(props, name).period_seconds,
            "timeoutSeconds": prop(props, name).timeout_seconds,
            "failureThreshold": prop(props, name).failure_threshold,
        }
        for name in ("liveness", "readiness", "startup")
    }
    own_image = {
        camel_case(field.name): (lambda d: list(d) if isinstance(d, tuple) else d)(
            prop(props, field.name)
        )
        for field in chart_values(props)
    }
    return {
        **own_image,
        "replicaCount": prop(props, "replicas"),
        "image.pullPolicy": prop(props, "image_pull_policy"),
        **mebibytes,
        "probes": probes,
        "terminationGracePeriodSeconds": prop(props, "termination_grace_seconds"),
        "podDisruptionBudget.maxUnavailable": prop(props, "max_unavailable"),
        "podDisruptionBudget.minAvailable": prop(props, "min_available"),
        "autoscaling.minReplicas": prop(AutoscalingProps, "min_replicas"),
        "autoscaling.maxReplicas": prop(AutoscalingProps, "max_replicas"),
        "autoscaling.targetCPUUtilizationPercentage": prop(AutoscalingProps, "target_cpu_percent"),
        "autoscaling.scaleDownStabilizationSeconds": prop(
            AutoscalingProps, "scale_down_stabilization_seconds"
        ),
    }


def at(document, path):
    for key in path.split("."):
        document = document[key]
    return document


@pytest.mark.parametrize(
    ("component", "props"), [("backend", BackendProps), ("frontend", FrontendProps)]
)
def test_component_defaults_are_the_construct_defaults(defaults, component, props):
    chart = values.as_dict(defaults)[component]
    port = importlib.import_module(f"todo_chatbot.{component}").PORT
    assert chart["containerPorts"]["http"] == port
    assert prop(props, "container_port") is None, "None means the contract's port"
    for path, expected in component_defaults(props).items():
        assert at(chart, path) == expected, f"{component}.{path}"
    for kind in ("requests", "limits"):
        millis = parse_quantity(chart["resources"][kind]["cpu"]) * 1000
        assert millis == prop(props, f"cpu_{kind[:-1]}_millis"), f"{component}.{kind}.cpu"


def test_cpu_quantities_are_written_as_operators_write_them():
    assert [values.cpu_quantity(millis) for millis in (50, 500, 1000, 1500, 2000)] == [
        "50m",
        "500m",
        "1",
        "1500m",
        "2",
    ]


def test_other_defaults_are_the_construct_defaults(defaults):
    chart = values.as_dict(defaults)
    expected = {
        "frontend.service.port": prop(FrontendProps, "service_port"),
        "ai.provider": prop(BackendProps, "ai_provider"),
        "ai.model": prop(BackendProps, "ai_model"),
        "ai.timeoutSeconds": prop(BackendProps, "ai_timeout_seconds"),
        "config.logLevel": prop(BackendProps, "log_level"),
        "networkPolicy.egress.databaseCidrs": list(prop(NetworkPolicyProps, "database_cidrs")),
        "networkPolicy.egress.databasePort": prop(NetworkPolicyProps, "database_port"),
        "networkPolicy.egress.aiCidrs": list(prop(NetworkPolicyProps, "ai_cidrs")),
        "networkPolicy.egress.aiPort": prop(NetworkPolicyProps, "ai_port"),
    }
    for path, value in expected.items():
        assert at(chart, path) == value, path
    assert prop(FrontendProps, "log_level") == prop(BackendProps, "log_level")


def test_choices_are_the_construct_choices():
    properties = values.values_schema()["properties"]
    component = properties["backend"]["properties"]
    assert component["image"]["properties"]["pullPolicy"]["enum"] == list(PULL_POLICIES)
    service = properties["frontend"]["properties"]["service"]["properties"]
    assert service["type"]["enum"] == list(SERVICE_TYPES)
    assert properties["ai"]["properties"]["provider"]["enum"] == list(AI_PROVIDERS)
    assert properties["config"]["properties"]["logLevel"]["enum"] == list(LOG_LEVELS)


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_the_grace_period_must_outlast_the_pre_stop_pause(component):
    validator = jsonschema.Draft7Validator(values.values_schema())
    pause = prop(WorkloadProps, "pre_stop_sleep_seconds")
    assert not validator.is_valid({component: {"terminationGracePeriodSeconds": pause}})
    assert validator.is_valid({component: {"terminationGracePeriodSeconds": pause + 1}})
