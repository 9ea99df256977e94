"""The values model: the one source of values.yaml, the schema and the README table."""

import dataclasses
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from todo_chatbot import values

CHART = Path(__file__).resolve().parents[2] / "dist" / "todo-chatbot"


@pytest.fixture(scope="module")
def defaults():
    return values.Values()


def test_values_yaml_holds_the_model_defaults(defaults):
    assert yaml.safe_load(values.values_yaml(defaults)) == dataclasses.asdict(defaults)


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
    assert all(value == "" for value in vars(defaults.secrets).values())
    schema = values.values_schema()["properties"]["secrets"]["properties"]
    assert all(set(field) == {"type", "description"} for field in schema.values())


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
