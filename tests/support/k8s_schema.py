"""Strict offline validation of manifests against the Kubernetes API schemas.

The schemas are the `_definitions.json` files in ../shared/k8s-schemas (the
ones `cdk8s import` uses) and the Gateway API and Prometheus Operator CRDs in ../shared/crds.
"Strict" means what `kubectl apply --validate=strict` means: a field the
schema does not know is an error, not silently dropped.
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


class _CrdLoader(yaml.SafeLoader):
    """A safe loader that reads a bare `=` (an enum value of the Prometheus Operator's CRDs)
    as a string; PyYAML takes it for YAML 1.1's value key, which it cannot build."""


_CrdLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:value"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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


@functools.cache
def _custom_resources() -> dict[tuple[str, str, str], dict[str, Any]]:
    schemas = {}
    for path in [*GATEWAY_CRDS.glob("*.yaml"), *MONITORING_CRDS.glob("*.yaml")]:
        for crd in yaml.load_all(path.read_text(), Loader=_CrdLoader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
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
            f"{version} nor by the Gateway API or Prometheus Operator CRDs"
        ]
    name = f"{manifest['kind']}/{manifest.get('metadata', {}).get('name')}"
    return [
        f"{name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
