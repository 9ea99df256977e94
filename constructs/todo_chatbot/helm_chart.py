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
from .network_policy import HELM_TEST_COMPONENT

CHART_NAME = "todo-chatbot"
KUBE_VERSION = ">=1.28.0-0"
PER_COMPONENT_KINDS = {"Deployment", "Service", "ConfigMap", "ServiceAccount"}
FILE_TIME = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
"""Modification time of every chart file: $SOURCE_DATE_EPOCH, else 1980-01-01."""
SHORT_KIND_NAMES = {"HorizontalPodAutoscaler": "hpa", "PodDisruptionBudget": "pdb"}

HELPERS = """\
{{/* Names: every object name derives from the release, so releases coexist. */}}
{{- define "todo-chatbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name prefix; 54 characters leave room for "-frontend". */}}
{{- define "todo-chatbot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "todo-chatbot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Image reference from (list .Values.<component>.image .Chart.AppVersion). */}}
{{- define "todo-chatbot.image" -}}
{{- $image := index . 0 }}
{{- $repository := $image.repository }}
{{- if $image.registry }}{{ $repository = printf "%s/%s" $image.registry $repository }}{{ end }}
{{- if $image.digest }}
{{- printf "%s@%s" $repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default (index . 1) $image.tag) }}
{{- end }}
{{- end }}

{{- define "todo-chatbot.pullSecrets" -}}
{{- range . }}
- name: {{ . | quote }}
{{- end }}
{{- end }}

{{- define "todo-chatbot.ipBlocks" -}}
{{- range . }}
- ipBlock:
    cidr: {{ . | quote }}
{{- end }}
{{- end }}

{{- define "todo-chatbot.secretName" -}}
{{- default (include "todo-chatbot.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* The URL users open: config.publicUrl, else the ingress or route host. */}}
{{- define "todo-chatbot.publicUrl" -}}
{{- if .Values.config.publicUrl }}
{{- .Values.config.publicUrl }}
{{- else if .Values.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host }}
{{- else if and .Values.httpRoute.enabled .Values.httpRoute.hostnames }}
{{- printf "http://%s" (first .Values.httpRoute.hostnames) }}
{{- end }}
{{- end }}

{{/*
Checks values.schema.json cannot express. Messages name the value, never
print a secret.
*/}}
{{- define "todo-chatbot.validate" -}}
{{- $secrets := .Values.secrets }}
{{- if not $secrets.existingSecret }}
{{- if not $secrets.databaseUrl }}
{{- fail "secrets.databaseUrl is required: set it, or set secrets.existingSecret to a Secret holding DATABASE_URL" }}
{{- end }}
{{- if not (regexMatch "^postgres(ql)?://" $secrets.databaseUrl) }}
{{- fail "secrets.databaseUrl must be a PostgreSQL URL starting with postgresql:// (value not shown)" }}
{{- end }}
{{- if not $secrets.betterAuthSecret }}
{{- fail "secrets.betterAuthSecret is required: set it, or set secrets.existingSecret to a Secret holding BETTER_AUTH_SECRET" }}
{{- end }}
{{- if lt (len $secrets.betterAuthSecret) 32 }}
{{- fail (printf "secrets.betterAuthSecret must be at least 32 characters, got %d (value not shown)" (len $secrets.betterAuthSecret)) }}
{{- end }}
{{- $key := ternary "openaiApiKey" "geminiApiKey" (eq .Values.ai.provider "openai") }}
{{- if not (get $secrets $key) }}
{{- fail (printf "secrets.%s is required when ai.provider is %s (or set secrets.existingSecret)" $key .Values.ai.provider) }}
{{- end }}
{{- end }}
{{- range $component := list "backend" "frontend" }}
{{- $scaling := (get $.Values $component).autoscaling }}
{{- if and $scaling.enabled (gt (int $scaling.minReplicas) (int $scaling.maxReplicas)) }}
{{- fail (printf "%s.autoscaling.minReplicas (%d) must not exceed maxReplicas (%d)" $component (int $scaling.minReplicas) (int $scaling.maxReplicas)) }}
{{- end }}
{{- end }}
{{- if and .Values.httpRoute.enabled (not .Values.httpRoute.parentRefs) }}
{{- fail "httpRoute.parentRefs must name at least one Gateway when httpRoute.enabled is true" }}
{{- end }}
{{- end }}
"""

NOTES = """\
The todo-chatbot {{ .Chart.AppVersion }} is installed as release {{ .Release.Name }}.

Wait until both services are Ready:
  kubectl -n {{ .Release.Namespace }} rollout status deployment/{{ include "todo-chatbot.fullname" . }}-backend
  kubectl -n {{ .Release.Namespace }} rollout status deployment/{{ include "todo-chatbot.fullname" . }}-frontend

Open the app:
{{- if .Values.ingress.enabled }}
  {{ include "todo-chatbot.publicUrl" . }}  (Ingress{{ with .Values.ingress.className }}, class {{ . }}{{ end }})
{{- else if .Values.httpRoute.enabled }}
  {{ include "todo-chatbot.publicUrl" . | default "the Gateway's address" }}  (HTTPRoute)
{{- else if eq .Values.frontend.service.type "NodePort" }}
  NODE_PORT=$(kubectl -n {{ .Release.Namespace }} get service {{ include "todo-chatbot.fullname" . }}-frontend -o jsonpath='{.spec.ports[0].nodePort}')
  NODE_IP=$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[0].address}')
  echo "http://$NODE_IP:$NODE_PORT"
{{- else if eq .Values.frontend.service.type "LoadBalancer" }}
  kubectl -n {{ .Release.Namespace }} get service {{ include "todo-chatbot.fullname" . }}-frontend  (EXTERNAL-IP, port {{ .Values.frontend.service.port }})
{{- end }}
Without an ingress or load balancer, this always works:
  kubectl -n {{ .Release.Namespace }} port-forward service/{{ include "todo-chatbot.fullname" . }}-frontend 8080:{{ .Values.frontend.service.port }}
  then open http://localhost:8080

The backend is reachable inside the cluster only, at
  http://{{ include "todo-chatbot.fullname" . }}-backend:8000
{{- if .Values.secrets.existingSecret }}

Credentials come from the existing Secret "{{ .Values.secrets.existingSecret }}"; it must hold
DATABASE_URL, BETTER_AUTH_SECRET and {{ ternary "OPENAI_API_KEY" "GEMINI_API_KEY" (eq .Values.ai.provider "openai") }}.
{{- end }}

Check the release: helm test {{ .Release.Name }} -n {{ .Release.Namespace }}
"""

# The helm test pod runs the backend image, which has Python, so the check
# needs no extra image.
TEST_SCRIPT = (
    "import sys, urllib.request\n"
    "for url in sys.argv[1:]:\n"
    "    with urllib.request.urlopen(url, timeout=5) as response:\n"
    "        print(url, response.status)\n"
)

TEST_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: "{{ include "todo-chatbot.fullname" . }}-test"
  labels:
    app.kubernetes.io/name: "{{ include "todo-chatbot.name" . }}"
    app.kubernetes.io/instance: "{{ .Release.Name }}"
    app.kubernetes.io/component: %(component)s
    app.kubernetes.io/part-of: todo-chatbot
    app.kubernetes.io/managed-by: "{{ .Release.Service }}"
    helm.sh/chart: "{{ include "todo-chatbot.chart" . }}"
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: test
      image: "{{ include "todo-chatbot.image" (list .Values.backend.image .Chart.AppVersion) }}"
      imagePullPolicy: {{ .Values.backend.image.pullPolicy | quote }}
      command:
        - python
        - -c
        - %(script)s
        - "http://{{ include "todo-chatbot.fullname" . }}-frontend:{{ .Values.frontend.service.port }}/healthz"
        - "http://{{ include "todo-chatbot.fullname" . }}-backend:8000/readyz"
      resources:
        requests:
          cpu: 10m
          memory: 32Mi
        limits:
          cpu: 200m
          memory: 64Mi
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop:
            - ALL
""" % {"component": HELM_TEST_COMPONENT, "script": json.dumps(TEST_SCRIPT)}

HELMIGNORE = """\
.DS_Store
.git/
*.swp
*.tmp
*.orig
"""

README = """\
# todo-chatbot Helm chart

Deploys the todo-chatbot: a web frontend (exposed to users) and a FastAPI
backend (reachable inside the cluster only) that stores tasks in an external
PostgreSQL and runs an AI chat assistant (OpenAI or Gemini).

This chart is generated by `make chart` from the cdk8s app of the repository
(`main.py`, `constructs/`); do not edit it by hand.

## Install

```bash
kubectl create secret generic todo-chatbot-credentials \\
  --from-literal=DATABASE_URL='postgresql://user:password@host/db?sslmode=require' \\
  --from-literal=BETTER_AUTH_SECRET="$(openssl rand -base64 32)" \\
  --from-literal=OPENAI_API_KEY='sk-...'
helm install todo dist/todo-chatbot --set secrets.existingSecret=todo-chatbot-credentials
```

Or let the chart manage the Secret, passing the values at install time from a
file kept out of git (`helm install todo dist/todo-chatbot -f secrets.yaml`).
Missing or malformed secrets stop the install with a message that names the
value and never prints it.

## Parameters

%(table)s"""


def _template_name(document: dict[str, Any]) -> str:
    kind = document["kind"]
    name = SHORT_KIND_NAMES.get(kind, kind.lower())
    component = document["metadata"]["labels"]["app.kubernetes.io/component"]
    if kind in PER_COMPONENT_KINDS:
        return f"{name}-{component}.yaml"
    return f"{name}.yaml"


def _template(document: dict[str, Any], condition: str | None) -> str:
    text = helm_yaml.render(document)
    if condition is not None:
        text = f"{{{{- if {condition} }}}}\n{text}{{{{- end }}}}\n"
    return text


def build(manifests: Path, version: str, out: Path) -> None:
    """Write the chart for `manifests` (cdk8s synth output) into the folder `out`."""
    templates: dict[str, list[str]] = {}
    documents = list(yaml.safe_load_all(manifests.read_text()))
    for document, condition in templatize(documents):
        templates.setdefault(_template_name(document), []).append(
            _template(document, condition))
    # Rendered in every install, so bad values stop it before anything is applied.
    backend = templates["deployment-backend.yaml"]
    backend[0] = '{{- include "todo-chatbot.validate" . }}\n' + backend[0]

    shutil.rmtree(out, ignore_errors=True)
    (out / "templates" / "tests").mkdir(parents=True)
    for name, parts in sorted(templates.items()):
        (out / "templates" / name).write_text("---\n".join(parts))
    (out / "templates" / "_helpers.tpl").write_text(HELPERS)
    (out / "templates" / "NOTES.txt").write_text(NOTES)
    (out / "templates" / "tests" / "test-connection.yaml").write_text(TEST_POD)

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
    (out / "README.md").write_text(README % {"table": values.parameters_table(defaults)})
    (out / ".helmignore").write_text(HELMIGNORE)
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
