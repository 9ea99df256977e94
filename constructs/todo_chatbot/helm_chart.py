"""The post-step: turn the synthesized manifests into the Helm chart folder.

    python -m todo_chatbot.helm_chart dist/todo-chatbot.k8s.yaml \\
        --version 0.1.0 --out dist/todo-chatbot

Each object becomes one template named after its kind (and component, for
the kinds each component has once); the marks left by `todo_chatbot.helm`
become Helm actions. values.yaml, values.schema.json and the README's
parameter table come from `todo_chatbot.values`. The output depends only on
the inputs, so two builds are byte-identical.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from . import helm_yaml, values
from .helm import templatize
from .migration import COMPONENT as MIGRATIONS
from .network_policy import HELM_TEST_COMPONENT

CHART_FILES = Path(__file__).parent / "chart_files"
"""The hand-written part of the chart: helpers, NOTES, the helm test pod, README."""
CHART_NAME = "todo-chatbot"
KUBE_VERSION = ">=1.28.0-0"
PER_COMPONENT_KINDS = {"Deployment", "Service", "ConfigMap", "ServiceAccount"}
FILE_TIME = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
"""Modification time of every chart file: $SOURCE_DATE_EPOCH, else 1980-01-01."""
SHORT_KIND_NAMES = {"HorizontalPodAutoscaler": "hpa", "PodDisruptionBudget": "pdb"}


def _template_name(document: dict[str, Any]) -> str:
    kind = document["kind"]
    name = SHORT_KIND_NAMES.get(kind, kind.lower())
    component = document["metadata"]["labels"]["app.kubernetes.io/component"]
    # The migration's objects are hooks, rendered apart (the pods' checksum of the release's
    # Secret must not change with them).
    if kind in PER_COMPONENT_KINDS or component == MIGRATIONS:
        return f"{name}-{component}.yaml"
    return f"{name}.yaml"


def _template(document: dict[str, Any], condition: str | None) -> str:
    text = helm_yaml.render(document)
    if condition is not None:
        text = f"{{{{- if {condition} }}}}\n{text}{{{{- end }}}}\n"
    return text


def _write_test_pod_labels(test_pod: Path, documents: list[dict[str, Any]]) -> None:
    """Give the hand-written `helm test` pod the backend's labels, with its own component."""
    backend = next(
        document
        for document in documents
        if document["kind"] == "Deployment"
        and document["metadata"]["labels"]["app.kubernetes.io/component"] == "backend"
    )
    labels = {
        **{key: value for key, value in backend["metadata"]["labels"].items() if "~" not in key},
        "app.kubernetes.io/component": HELM_TEST_COMPONENT,
    }
    block = helm_yaml.render({"labels": labels}).rstrip("\n").replace("\n", "\n  ")
    test_pod.write_text(test_pod.read_text().replace("{labels}", block))


def build(manifests: Path, version: str, out: Path) -> None:
    """Write the chart for `manifests` (cdk8s synth output) into the folder `out`."""
    templates: dict[str, list[str]] = {}
    documents = list(yaml.safe_load_all(manifests.read_text()))
    for document, condition in templatize(documents):
        templates.setdefault(_template_name(document), []).append(_template(document, condition))
    # Rendered in every install, so bad values stop it before anything is applied.
    backend = templates["deployment-backend.yaml"]
    backend[0] = '{{- include "todo-chatbot.validate" . }}\n' + backend[0]

    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(CHART_FILES, out)
    _write_test_pod_labels(out / "templates" / "tests" / "test-connection.yaml", documents)
    for name, parts in sorted(templates.items()):
        (out / "templates" / name).write_text("---\n".join(parts))

    chart = {
        "apiVersion": "v2",
        "name": CHART_NAME,
        "description": "Todo list with an AI chat assistant: web frontend + FastAPI backend.",
        "type": "application",
        "version": version,
        "appVersion": version,
        "kubeVersion": KUBE_VERSION,
        "keywords": ["todo", "chatbot", "fastapi", "openai", "gemini"],
        "annotations": {"generated-by": "cdk8s (main.py) + todo_chatbot.helm_chart"},
    }
    (out / "Chart.yaml").write_text(yaml.safe_dump(chart, sort_keys=False))
    defaults = values.Values()
    (out / "values.yaml").write_text(values.values_yaml(defaults))
    (out / "values.schema.json").write_text(json.dumps(values.values_schema(), indent=2) + "\n")
    readme = out / "README.md"
    readme.write_text(readme.read_text().replace("{parameters}", values.parameters_table(defaults)))
    # `helm package` stores file times; fixing them keeps the .tgz reproducible.
    for path in out.rglob("*"):
        os.utime(path, (FILE_TIME, FILE_TIME))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifests", type=Path, help="cdk8s synth output")
    parser.add_argument("--version", required=True, help="chart version and appVersion")
    parser.add_argument("--out", type=Path, required=True, help="chart folder to (re)write")
    args = parser.parse_args(argv)
    if not args.manifests.is_file():
        print(f"error: {args.manifests} not found; run `cdk8s synth` first", file=sys.stderr)
        return 1
    build(args.manifests, args.version, args.out)
    print(f"chart written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
