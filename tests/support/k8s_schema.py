"""Strict offline validation of manifests against the Kubernetes API schemas.

The schemas are the `_definitions.json` files in ../shared/k8s-schemas (the
ones `cdk8s import` uses) and the Gateway API, Prometheus Operator and External
Secrets Operator CRDs in ../shared/crds. "Strict" means what `kubectl apply
--validate=strict` means: a field the schema does not know is an error, not
silently dropped.

`write_kind_schemas` writes the same schemas as one standalone file per kind, in the
layout kubeconform reads (what openapi2jsonschema makes of the OpenAPI documents).
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
KUBERNETES_VERSIONS = ("1.28.0", "1.36.0")
GATEWAY_CRDS = SHARED / "crds" / "gateway-api-v1.6.1"
MONITORING_CRDS = SHARED / "crds" / "prometheus-operator-v0.93.0"
EXTERNAL_SECRETS_CRDS = SHARED / "crds" / "external-secrets-v2.9.0"
CRD_FILES = {
    GATEWAY_CRDS: ("*.yaml",),
    MONITORING_CRDS: ("*monitors.yaml", "*prometheusrules.yaml"),
    EXTERNAL_SECRETS_CRDS: ("external-secrets.io_externalsecrets.yaml",),
}
"""The CRDs whose kinds the chart may render: Gateway API, Prometheus Operator's monitors and
rules, the External Secrets Operator's ExternalSecret."""
KUBECONFORM_LAYOUT = "{{ .ResourceKind }}{{ .KindSuffix }}.json"
"""The file name kubeconform looks up (-schema-location) for a kind: deployment-apps-v1.json."""


def _strict(schema: Any) -> Any:
    """Forbid unknown fields wherever a schema lists its fields."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        preserves = schema.get("x-kubernetes-preserve-unknown-fields")
        if "properties" in schema and "additionalProperties" not in schema and not preserves:
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [_strict(item) for item in schema]
    return schema


@functools.cache
def _kubernetes(version: str) -> tuple[dict[str, Any], dict[tuple[str, str, str], str]]:
    definitions = json.loads(
        (SHARED / "k8s-schemas" / f"v{version}" / "_definitions.json").read_text()
    )["definitions"]
    kinds = {}
    for name, definition in definitions.items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            kinds[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return _strict(definitions), kinds


class _CrdLoader(yaml.CSafeLoader):
    """YAML 1.1 reads a bare `=` (an enum value of Prometheus Operator's CRDs) as a tag."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", yaml.SafeLoader.construct_yaml_str)


@functools.cache
def _custom_resources() -> dict[tuple[str, str, str], dict[str, Any]]:
    schemas = {}
    found = (
        path
        for folder, patterns in CRD_FILES.items()
        for pattern in patterns
        for path in folder.glob(pattern)
    )
    for path in sorted(found):
        for crd in yaml.load_all(path.read_text(), Loader=_CrdLoader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                # An unserved version (ExternalSecret v1beta1) is refused by the API server.
                if not version["served"]:
                    continue
                schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                schema["properties"]["metadata"] = {"type": "object"}
                schemas[(spec["group"], version["name"], spec["names"]["kind"])] = _strict(schema)
    return schemas


def errors(manifest: dict[str, Any], version: str) -> list[str]:
    """Schema violations of one manifest against Kubernetes `version` (empty: valid)."""
    group, _, api_version = manifest["apiVersion"].rpartition("/")
    key = (group, api_version, manifest["kind"])
    definitions, kinds = _kubernetes(version)
    if key in kinds:
        schema = {"$ref": f"#/definitions/{kinds[key]}", "definitions": definitions}
        validator: Any = jsonschema.Draft4Validator(schema)
    elif key in _custom_resources():
        validator = jsonschema.Draft7Validator(_custom_resources()[key])
    else:
        return [
            f"{manifest['apiVersion']} {manifest['kind']} is not served by Kubernetes "
            f"{version} nor by the CRDs of {', '.join(folder.name for folder in CRD_FILES)}"
        ]
    name = f"{manifest['kind']}/{manifest.get('metadata', {}).get('name')}"
    return [
        f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


def _references(schema: Any) -> set[str]:
    """The definitions a schema names with `$ref: #/definitions/<name>`."""
    if isinstance(schema, dict):
        # JSONSchemaProps has a property named `$ref` too: only a string is a reference.
        reference = schema.get("$ref")
        found = {reference.rpartition("/")[2]} if isinstance(reference, str) else set()
        return found.union(*(_references(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_references(item) for item in schema))
    return set()


def kind_file_name(group: str, api_version: str, kind: str) -> str:
    """KUBECONFORM_LAYOUT for one kind: its lowercase name, the group's first label, version."""
    suffix = f"-{group.split('.')[0]}-{api_version}" if group else f"-{api_version}"
    return f"{kind.lower()}{suffix}.json"


def write_kind_schemas(version: str, folder: Path) -> int:
    """Write a standalone strict schema per kind of Kubernetes `version` and of the CRDs.

    Each Kubernetes kind's file carries the definitions it reaches, so it needs no other
    file. Returns how many files were written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    definitions, kinds = _kubernetes(version)
    schemas: dict[str, Any] = {}
    for (group, api_version, kind), name in kinds.items():
        reached, pending = set(), {name}
        while pending:
            current = pending.pop()
            reached.add(current)
            pending |= _references(definitions[current]) - reached
        schemas[kind_file_name(group, api_version, kind)] = {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "$ref": f"#/definitions/{name}",
            "definitions": {found: definitions[found] for found in sorted(reached)},
        }
    for (group, api_version, kind), schema in _custom_resources().items():
        schemas[kind_file_name(group, api_version, kind)] = {
            "$schema": "http://json-schema.org/draft-07/schema#",
            **schema,
        }
    for file_name, schema in schemas.items():
        (folder / file_name).write_text(json.dumps(schema, sort_keys=True))
    return len(schemas)
