"""The Helm layer: install-time knobs on top of the synthesized manifests.

`chart_props()` builds the `TodoChatbot` with every optional part present and
names and labels that are Helm expressions; `cdk8s synth` (main.py) writes
its manifests. The post-step (`helm_chart`) calls `templatize()` on them,
which marks, object by object, which fields come from which value (see
`helm_yaml` for the marks) and which objects are optional. The marks are
applied to the synthesized dicts rather than as cdk8s JSON patches because
the generated bindings drop keys they do not know. Every `.Values` path used
here exists in `values.Values`, and every value is used; a test keeps both in
step.
"""

from __future__ import annotations

from typing import Any

from .backend import BackendProps
from .chart import TodoChatbotProps
from .frontend import FrontendProps
from .helm_yaml import ITEM_IF, block, if_key, raw, with_key
from .http_route import GatewayRef, HttpRouteProps
from .ingress import IngressProps
from .labels import Labels
from .network_policy import NetworkPolicyProps
from .secret import AI_KEYS, BETTER_AUTH_SECRET, DATABASE_URL, SecretsProps
from .workload import AutoscalingProps

FULLNAME = '{{ include "todo-chatbot.fullname" . }}'

# Placeholders that pass the constructs' checks; templatize() replaces each
# with a value expression, so none reaches the chart.
_PLACEHOLDER_URL = "postgresql://placeholder"
_PLACEHOLDER_SECRET = "placeholder" * 4


def chart_props() -> TodoChatbotProps:
    """The chart's construct tree: every optional object present, Helm names and labels."""
    image = '{{ include "todo-chatbot.image" (list .Values.%s.image .Chart.AppVersion) }}'
    checksums = {
        "checksum/config": '{{ include (print $.Template.BasePath "/configmap-%s.yaml") . '
        "| sha256sum }}",
        "checksum/secret": '{{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}',
    }

    def annotations(component: str) -> dict[str, str]:
        return {key: value.replace("%s", component) for key, value in checksums.items()}

    return TodoChatbotProps(
        labels=Labels(
            name='{{ include "todo-chatbot.name" . }}',
            instance="{{ .Release.Name }}",
            version="{{ .Chart.AppVersion }}",
            managed_by="{{ .Release.Service }}",
            chart='{{ include "todo-chatbot.chart" . }}',
        ),
        secrets=SecretsProps(
            name='{{ include "todo-chatbot.secretName" . }}',
            database_url=_PLACEHOLDER_URL,
            better_auth_secret=_PLACEHOLDER_SECRET,
            openai_api_key=_PLACEHOLDER_SECRET,
            gemini_api_key=_PLACEHOLDER_SECRET,
        ),
        backend=BackendProps(
            name=f"{FULLNAME}-backend",
            image=image % "backend",
            autoscaling=AutoscalingProps(),
            pod_annotations=annotations("backend"),
        ),
        frontend=FrontendProps(
            name=f"{FULLNAME}-frontend",
            image=image % "frontend",
            autoscaling=AutoscalingProps(),
            pod_annotations=annotations("frontend"),
        ),
        ingress=IngressProps(name=FULLNAME),
        http_route=HttpRouteProps(name=FULLNAME, gateway_refs=(GatewayRef(name="placeholder"),)),
        network_policy=NetworkPolicyProps(),
    )


def templatize(documents: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str | None]]:
    """Mark every install-time knob; returns each object with its condition (or None)."""
    objects = _Objects(documents)
    _secret(objects)
    for component in ("backend", "frontend"):
        _workload(objects, component)
    _backend_config(objects)
    _frontend_config(objects)
    _frontend_service(objects)
    _ingress(objects)
    _http_route(objects)
    _network_policies(objects)
    return [(document, objects.conditions.get(id(document))) for document in documents]


class _Objects:
    """The synthesized objects, found by kind and component label."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = documents
        self.conditions: dict[int, str] = {}

    def get(self, kind: str, component: str) -> dict[str, Any]:
        for document in self.documents:
            labels = document["metadata"]["labels"]
            if document["kind"] == kind and labels["app.kubernetes.io/component"] == component:
                return document
        raise KeyError(f"no {kind} of component {component} in the synthesized manifests")

    def only_if(self, document: dict[str, Any], condition: str) -> None:
        self.conditions[id(document)] = condition


def _value(path: str) -> str:
    """A value inserted as data, quoted by Helm (any characters are safe)."""
    return raw(f"{{{{ .Values.{path} | quote }}}}")


def _number(path: str) -> str:
    return raw(f"{{{{ .Values.{path} }}}}")


# ---- objects ------------------------------------------------------------------


def _secret(objects: _Objects) -> None:
    secret = objects.get("Secret", "secrets")
    objects.only_if(secret, "not .Values.secrets.existingSecret")
    del secret["stringData"]
    secret["data"] = {
        DATABASE_URL: raw("{{ .Values.secrets.databaseUrl | b64enc | quote }}"),
        BETTER_AUTH_SECRET: raw("{{ .Values.secrets.betterAuthSecret | b64enc | quote }}"),
    }
    for provider, key in AI_KEYS.items():
        value = f"secrets.{provider}ApiKey"
        secret["data"][if_key(f".Values.{value}", key)] = raw(
            f"{{{{ .Values.{value} | b64enc | quote }}}}"
        )


def _workload(objects: _Objects, component: str) -> None:
    deployment = objects.get("Deployment", component)
    template = deployment["spec"]["template"]
    pod = template["spec"]
    container = pod["containers"][0]
    del template["metadata"]["labels"]["cdk8s.io/metadata.addr"]
    deployment["spec"][if_key(f"not .Values.{component}.autoscaling.enabled", "replicas")] = (
        _number(f"{component}.replicaCount")
    )
    template["metadata"]["annotations"][with_key(f".Values.{component}.podAnnotations")] = None
    pod["terminationGracePeriodSeconds"] = _number(f"{component}.terminationGracePeriodSeconds")
    for key in ("nodeSelector", "tolerations", "affinity"):
        pod[if_key(f".Values.{component}.{key}", key)] = block(f"toYaml .Values.{component}.{key}")
    pod[if_key(f".Values.{component}.image.pullSecrets", "imagePullSecrets")] = block(
        f'include "todo-chatbot.pullSecrets" .Values.{component}.image.pullSecrets'
    )
    container["imagePullPolicy"] = _value(f"{component}.image.pullPolicy")
    container["resources"] = block(f"toYaml .Values.{component}.resources")
    for probe in ("liveness", "readiness", "startup"):
        spec, values = container[f"{probe}Probe"], f"{component}.probes.{probe}"
        spec["httpGet"]["path"] = _value(f"{values}.path")
        for key in ("periodSeconds", "timeoutSeconds", "failureThreshold"):
            spec[key] = _number(f"{values}.{key}")

    autoscaler = objects.get("HorizontalPodAutoscaler", component)
    objects.only_if(autoscaler, f".Values.{component}.autoscaling.enabled")
    scaling = f"{component}.autoscaling"
    autoscaler["spec"]["minReplicas"] = _number(f"{scaling}.minReplicas")
    autoscaler["spec"]["maxReplicas"] = _number(f"{scaling}.maxReplicas")
    autoscaler["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = _number(
        f"{scaling}.targetCPUUtilizationPercentage"
    )
    autoscaler["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] = _number(
        f"{scaling}.scaleDownStabilizationSeconds"
    )

    account = objects.get("ServiceAccount", component)["metadata"]
    account.pop("annotations", None)
    annotations = f".Values.{component}.serviceAccount.annotations"
    account[if_key(annotations, "annotations")] = block(f"toYaml {annotations}")

    budget = objects.get("PodDisruptionBudget", component)
    objects.only_if(budget, f".Values.{component}.podDisruptionBudget.enabled")
    budget_values = f"{component}.podDisruptionBudget"
    no_min_available = f'kindIs "invalid" .Values.{budget_values}.minAvailable'
    del budget["spec"]["maxUnavailable"]
    budget["spec"][if_key(no_min_available, "maxUnavailable")] = _number(
        f"{budget_values}.maxUnavailable"
    )
    budget["spec"][if_key(f"not ({no_min_available})", "minAvailable")] = _number(
        f"{budget_values}.minAvailable"
    )


def _backend_config(objects: _Objects) -> None:
    data = objects.get("ConfigMap", "backend")["data"]
    data["AI_PROVIDER"] = _value("ai.provider")
    data["AI_MODEL"] = _value("ai.model")
    data["AI_TIMEOUT_SECONDS"] = _value("ai.timeoutSeconds")
    data["LOG_LEVEL"] = _value("config.logLevel")
    data[if_key(".Values.ai.baseUrl", "AI_BASE_URL")] = _value("ai.baseUrl")

    # The pod gets the key of the configured provider only.
    deployment = objects.get("Deployment", "backend")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    index = next(i for i, var in enumerate(env) if var["name"] == AI_KEYS["openai"])
    reference = env[index]["valueFrom"]["secretKeyRef"]
    env[index : index + 1] = [
        {
            ITEM_IF: f'eq .Values.ai.provider "{provider}"',
            "name": key,
            "valueFrom": {"secretKeyRef": {**reference, "key": key}},
        }
        for provider, key in AI_KEYS.items()
    ]


def _frontend_config(objects: _Objects) -> None:
    data = objects.get("ConfigMap", "frontend")["data"]
    data["LOG_LEVEL"] = _value("config.logLevel")
    data["SIGNUP_LIMIT_PER_CLIENT"] = _value("frontend.signUpLimitPerClient")
    data["TRUSTED_PROXIES"] = raw('{{ join "," .Values.frontend.trustedProxies | quote }}')
    data["PUBLIC_URL"] = raw('{{ include "todo-chatbot.publicUrl" . | quote }}')


def _frontend_service(objects: _Objects) -> None:
    spec = objects.get("Service", "frontend")["spec"]
    spec["type"] = _value("frontend.service.type")
    spec["ports"][0]["port"] = _number("frontend.service.port")
    node_port = (
        'and (eq .Values.frontend.service.type "NodePort") .Values.frontend.service.nodePort'
    )
    spec["ports"][0][if_key(node_port, "nodePort")] = _number("frontend.service.nodePort")
    exposed = 'ne .Values.frontend.service.type "ClusterIP"'
    spec[if_key(exposed, "externalTrafficPolicy")] = _value(
        "frontend.service.externalTrafficPolicy"
    )
    for component in ("backend", "frontend"):
        objects.get("Service", component)["spec"].pop("externalIPs", None)


def _ingress(objects: _Objects) -> None:
    ingress = objects.get("Ingress", "frontend")
    objects.only_if(ingress, ".Values.ingress.enabled")
    ingress["metadata"].pop("annotations", None)
    ingress["metadata"][if_key(".Values.ingress.annotations", "annotations")] = block(
        "toYaml .Values.ingress.annotations"
    )
    ingress["spec"][if_key(".Values.ingress.className", "ingressClassName")] = _value(
        "ingress.className"
    )
    rule = ingress["spec"]["rules"][0]
    rule["host"] = _value("ingress.host")
    rule["http"]["paths"][0]["backend"]["service"]["port"]["number"] = _number(
        "frontend.service.port"
    )
    ingress["spec"][if_key(".Values.ingress.tls.enabled", "tls")] = [
        {
            "hosts": [_value("ingress.host")],
            "secretName": raw(
                '{{ default (printf "%s-tls" (include "todo-chatbot.fullname" .)) '
                ".Values.ingress.tls.secretName | quote }}"
            ),
        }
    ]


def _http_route(objects: _Objects) -> None:
    route = objects.get("HTTPRoute", "frontend")
    objects.only_if(route, ".Values.httpRoute.enabled")
    route["metadata"].pop("annotations", None)
    route["metadata"][if_key(".Values.httpRoute.annotations", "annotations")] = block(
        "toYaml .Values.httpRoute.annotations"
    )
    route["spec"]["parentRefs"] = block("toYaml .Values.httpRoute.parentRefs")
    route["spec"].pop("hostnames", None)
    route["spec"][if_key(".Values.httpRoute.hostnames", "hostnames")] = block(
        "toYaml .Values.httpRoute.hostnames"
    )
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = _number("frontend.service.port")


def _network_policies(objects: _Objects) -> None:
    egress = "networkPolicy.egress"
    defaults = NetworkPolicyProps()
    for component in ("backend", "frontend"):
        policy = objects.get("NetworkPolicy", component)
        objects.only_if(policy, ".Values.networkPolicy.enabled")
        for rule in policy["spec"]["egress"]:
            port = rule["ports"][0]
            if port["port"] == defaults.database_port:
                rule["to"] = block(
                    f'include "todo-chatbot.ipBlocks" .Values.{egress}.databaseCidrs'
                )
                port["port"] = _number(f"{egress}.databasePort")
            elif port["port"] == defaults.ai_port:
                rule["to"] = block(f'include "todo-chatbot.ipBlocks" .Values.{egress}.aiCidrs')
                port["port"] = _number(f"{egress}.aiPort")
