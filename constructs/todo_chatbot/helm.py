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

import copy
from typing import Any

from .backend import BackendProps
from .chart import TodoChatbot, TodoChatbotProps
from .external_secret import ExternalSecret, ExternalSecretProps, RemoteRef
from .frontend import FrontendProps
from .helm_yaml import (
    IF,
    IF_NAME_SEPARATOR,
    ITEM_IF,
    block,
    if_key,
    include_item,
    include_key,
    raw,
    with_key,
)
from .http_route import GatewayRef, HttpRouteProps
from .ingress import IngressProps
from .labels import Labels
from .migration import COMPONENT as MIGRATIONS
from .migration import MigrationProps
from .network_policy import HELM_TEST_COMPONENT, NetworkPolicyProps
from .pod_monitor import PodMonitor
from .prometheus_rule import PrometheusRuleProps, error_budget
from .secret import AI_KEYS, BETTER_AUTH_SECRET, DATABASE_URL, FRONTEND_DATABASE_URL, SecretsProps
from .service_monitor import COMPONENT_NAME as METRICS
from .service_monitor import METRICS_PATH, ScrapeProps
from .values import default_of
from .workload import (
    AutoscalingProps,
    WorkloadProps,
    camel_case,
    chart_values,
    metrics_component,
)

FULLNAME = '{{ include "todo-chatbot.fullname" . }}'
SECRET_NAME = '{{ include "todo-chatbot.secretName" . }}'
LABELS = Labels(
    name='{{ include "todo-chatbot.name" . }}',
    instance="{{ .Release.Name }}",
    version="{{ .Chart.AppVersion }}",
    managed_by="{{ .Release.Service }}",
    chart='{{ include "todo-chatbot.chart" . }}',
)
"""The chart's standard labels, Helm expressions."""

# Placeholders that pass the constructs' checks; templatize() replaces each
# with a value expression, so none reaches the chart.
_PLACEHOLDER_URL = "postgresql://placeholder"
_PLACEHOLDER_SECRET = "placeholder" * 4
_ENV_FROM_PLACEHOLDERS = {
    "extra_env_vars_cm": "placeholder",
    "extra_env_vars_secret": "placeholder",
}


def chart_props() -> TodoChatbotProps:
    """The chart's construct tree: every optional object present, Helm names and labels."""
    image = (
        '{{ include "todo-chatbot.image" '
        "(list .Values.%s.image .Chart.AppVersion .Values.global) }}"
    )
    checksums = {
        "checksum/config": '{{ include (print $.Template.BasePath "/configmap-%s.yaml") . '
        "| sha256sum }}",
        "checksum/secret": '{{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}',
    }

    def component(name: str) -> dict[str, Any]:
        """The props both components share: Helm name, image, checksums, placeholders."""
        return {
            "name": f"{FULLNAME}-{name}",
            "image": image % name,
            "autoscaling": AutoscalingProps(),
            "pod_annotations": {key: value.replace("%s", name) for key, value in checksums.items()},
            **_ENV_FROM_PLACEHOLDERS,
        }

    return TodoChatbotProps(
        labels=LABELS,
        secrets=SecretsProps(
            name=SECRET_NAME,
            database_url=_PLACEHOLDER_URL,
            frontend_database_url=_PLACEHOLDER_URL,
            better_auth_secret=_PLACEHOLDER_SECRET,
            openai_api_key=_PLACEHOLDER_SECRET,
            gemini_api_key=_PLACEHOLDER_SECRET,
        ),
        backend=BackendProps(**component("backend"), public_path="/placeholder"),
        frontend=FrontendProps(**component("frontend")),
        ingress=IngressProps(name=FULLNAME),
        http_route=HttpRouteProps(name=FULLNAME, gateway_refs=(GatewayRef(name="placeholder"),)),
        network_policy=NetworkPolicyProps(
            ingress_namespace="placeholder",
            backend_to_frontend=True,
            metrics_namespace="placeholder",
        ),
        migrations=MigrationProps(),
        service_monitor=ScrapeProps(name=FULLNAME),
        prometheus_rule=PrometheusRuleProps(name=FULLNAME, namespace="{{ .Release.Namespace }}"),
    )


def add_pod_monitor(chart: TodoChatbot) -> PodMonitor:
    """The chart's PodMonitor, the values' alternative to its ServiceMonitor.

    `TodoChatbot` refuses both monitors at once; the chart holds both and renders one
    (`todo-chatbot.validate` refuses both there), so it adds this one beside.
    """
    return PodMonitor(
        chart,
        "PodMonitor",
        targets=(chart.backend, chart.frontend),
        props=ScrapeProps(name=FULLNAME, labels=LABELS),
    )


def add_external_secret(chart: TodoChatbot) -> ExternalSecret:
    """The chart's ExternalSecret, the values' alternative to its managed Secret.

    The chart holds both and renders one (secrets.externalSecret.enabled), so it adds this
    one beside the managed Secret that `chart_props()` gives `Secrets`.
    """
    return ExternalSecret(
        chart,
        "ExternalSecret",
        secret_name=SECRET_NAME,
        props=ExternalSecretProps(
            secret_store_name="placeholder",
            remote_refs={DATABASE_URL: RemoteRef(key="placeholder")},
            labels=LABELS,
        ),
    )


def templatize(documents: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str | None]]:
    """Mark every install-time knob; returns each object with its condition (or None)."""
    objects = _Objects(documents)
    _secret(objects)
    _external_secret(objects)
    for component in ("backend", "frontend"):
        _workload(objects, component)
    _backend_config(objects)
    _frontend_config(objects)
    for component in ("backend", "frontend"):
        # One log level for both services.
        objects.get("ConfigMap", component)["data"]["LOG_LEVEL"] = _value("config.logLevel")
        _own_image(objects, component)
        _pod_values(objects, component)
    _frontend_service(objects)
    _ingress(objects)
    _http_route(objects)
    _network_policies(objects)
    _migrations(objects)
    _metrics(objects)
    _common_metadata(objects)
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


def _replace_key(mapping: dict[str, Any], key: str, entries: dict[str, Any]) -> None:
    """Replace `key` of `mapping` by `entries`, in its place (the order is the output's)."""
    items = list(mapping.items())
    mapping.clear()
    for name, value in items:
        mapping.update(entries if name == key else {name: value})


def _value(path: str) -> str:
    """A value inserted as data, quoted by Helm (any characters are safe)."""
    return raw(f"{{{{ .Values.{path} | quote }}}}")


def _number(path: str) -> str:
    return raw(f"{{{{ .Values.{path} }}}}")


# ---- objects ------------------------------------------------------------------


def _secret(objects: _Objects) -> None:
    secret = objects.get("Secret", "secrets")
    objects.only_if(secret, f"not (or .Values.secrets.existingSecret {EXTERNAL})")
    del secret["stringData"]
    secret["data"] = {
        DATABASE_URL: raw("{{ .Values.secrets.databaseUrl | b64enc | quote }}"),
        if_key(".Values.secrets.frontendDatabaseUrl", FRONTEND_DATABASE_URL): raw(
            "{{ .Values.secrets.frontendDatabaseUrl | b64enc | quote }}"
        ),
        BETTER_AUTH_SECRET: raw("{{ .Values.secrets.betterAuthSecret | b64enc | quote }}"),
    }
    for provider, key in AI_KEYS.items():
        value = f"secrets.{provider}ApiKey"
        secret["data"][if_key(f".Values.{value}", key)] = raw(
            f"{{{{ .Values.{value} | b64enc | quote }}}}"
        )
    extra = ".Values.secrets.extra"
    secret["data"][include_key(extra, f'include "todo-chatbot.secretData" {extra}')] = None


EXTERNAL = ".Values.secrets.externalSecret.enabled"


def _external_secret(objects: _Objects) -> None:
    """The ExternalSecret, from secrets.externalSecret; its data from remoteRefs."""
    external_secret = objects.get("ExternalSecret", "secrets")
    objects.only_if(external_secret, EXTERNAL)
    spec = external_secret["spec"]
    spec["secretStoreRef"] = {
        key: _value(f"secrets.externalSecret.secretStoreRef.{key}") for key in ("name", "kind")
    }
    spec["refreshInterval"] = _value("secrets.externalSecret.refreshInterval")
    spec["data"] = block(
        'include "todo-chatbot.externalSecretData" .Values.secrets.externalSecret.remoteRefs'
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
    # The operator's values are not known when Helm renders: this rolls the pods when the
    # ExternalSecret changes (another key or store), not when a remote value does.
    template["metadata"]["annotations"][if_key(EXTERNAL, "checksum/external-secret")] = (
        '{{ include (print $.Template.BasePath "/externalsecret.yaml") . | sha256sum }}'
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


def _env_name(component: str, name: str) -> str:
    """The variable `name` under the name the image reads (`<component>.envNames`)."""
    return raw(f'{{{{ get .Values.{component}.envNames "{name}" | default "{name}" }}}}')


def _own_image(objects: _Objects, component: str) -> None:
    """The knobs that fit the chart to an image not made for it (docs/contract.md)."""
    values = f".Values.{component}"
    deployment = objects.get("Deployment", component)
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    port = _number(f"{component}.containerPorts.http")
    container["ports"][0]["containerPort"] = port
    for probe in ("liveness", "readiness", "startup"):
        container[f"{probe}Probe"]["httpGet"]["port"] = port
        _replace_key(
            container,
            f"{probe}Probe",
            {
                if_key(f"{values}.probes.{probe}.enabled", f"{probe}Probe"): container[
                    f"{probe}Probe"
                ]
            },
        )
    service = objects.get("Service", component)["spec"]["ports"][0]
    service["targetPort"] = port
    if component == "backend":
        service["port"] = port
    metrics_port = _number(f"{component}.containerPorts.metrics")
    container["ports"][1]["containerPort"] = metrics_port
    (metrics_service,) = objects.get("Service", metrics_component(component))["spec"]["ports"]
    metrics_service["port"] = metrics_service["targetPort"] = metrics_port

    for var in container["env"]:
        var["name"] = _env_name(component, var["name"])
    config = objects.get("ConfigMap", component)["data"]
    for key in list(config):
        condition, separator, name = key.rpartition(" ~")
        _replace_key(
            config, key, {f"{condition}{separator}{_env_name(component, name)}": config[key]}
        )
    container["env"].append(
        include_item(
            f"{values}.extraSecretKeys",
            f'include "todo-chatbot.secretEnv" (list . {values}.extraSecretKeys)',
        )
    )
    _, config_map, secret = container["envFrom"]
    for item, key, value in (
        (config_map, "configMapRef", "extraEnvVarsCM"),
        (secret, "secretRef", "extraEnvVarsSecret"),
    ):
        item[ITEM_IF] = f"{values}.{value}"
        item[key]["name"] = _value(f"{component}.{value}")

    pod["volumes"].append(
        include_item(
            f"{values}.writablePaths",
            f'include "todo-chatbot.writableVolumes" {values}.writablePaths',
        )
    )
    container["volumeMounts"].append(
        include_item(
            f"{values}.writablePaths",
            f'include "todo-chatbot.writableMounts" {values}.writablePaths',
        )
    )
    _security(pod, component)


def _security(pod: dict[str, Any], component: str) -> None:
    """The operator's security settings of `component` merged over the restricted defaults."""
    values = f".Values.{component}"
    for spec, name in (
        (pod, "podSecurityContext"),
        (pod["containers"][0], "containerSecurityContext"),
    ):
        security = spec["securityContext"]
        for key in list(security):
            # A key the operator sets replaces the chart's.
            _replace_key(
                security, key, {if_key(f'not (hasKey {values}.{name} "{key}")', key): security[key]}
            )
        security[with_key(f"{values}.{name}")] = None


def _pod_values(objects: _Objects, component: str) -> None:
    """Each `chart_value` prop with a place (`at`) in the pod template, marked there."""
    template = objects.get("Deployment", component)["spec"]["template"]
    for prop in chart_values(WorkloadProps):
        at = prop.metadata["chart"]["at"]
        if at is None:
            continue
        values = f".Values.{component}.{camel_case(prop.name)}"
        *parents, last = at.strip("/").split("/")
        parent: Any = template
        for token in parents:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        if last == "-":
            parent.append(include_item(values, f"toYaml {values}"))
        elif isinstance(parent.get(last), dict):
            parent[last][with_key(values)] = None
        elif last in parent:
            replaced = {if_key(f"not {values}", last): parent[last]}
            _replace_key(
                parent, last, {**replaced, if_key(values, last): block(f"toYaml {values}")}
            )
        elif isinstance(prop.default, str):
            parent[if_key(values, last)] = raw(f"{{{{ {values} | quote }}}}")
        else:
            parent[if_key(values, last)] = block(f"toYaml {values}")


def _backend_config(objects: _Objects) -> None:
    data = objects.get("ConfigMap", "backend")["data"]
    data["AI_PROVIDER"] = _value("ai.provider")
    data["AI_MODEL"] = _value("ai.model")
    data["AI_TIMEOUT_SECONDS"] = _value("ai.timeoutSeconds")
    data["CHAT_TURNS_PER_MINUTE"] = _value("backend.chatLimits.turnsPerMinute")
    data["CHAT_CONCURRENT_TURNS"] = _value("backend.chatLimits.concurrentTurns")
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
    data["SIGNUP_LIMIT_PER_CLIENT"] = _value("frontend.signUpLimitPerClient")
    data["TRUSTED_PROXIES"] = raw('{{ join "," .Values.frontend.trustedProxies | quote }}')
    data["PUBLIC_URL"] = raw('{{ include "todo-chatbot.publicUrl" . | quote }}')
    url, _, _ = data["BACKEND_URL"].rpartition(":")
    data["BACKEND_URL"] = f"{url}:{{{{ .Values.backend.containerPorts.http }}}}"

    # The frontend's DATABASE_URL: its own role's URL when the values give one.
    deployment = objects.get("Deployment", "frontend")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    (database_url,) = (var for var in env if var["name"] == DATABASE_URL)
    database_url["valueFrom"]["secretKeyRef"]["key"] = raw(
        '{{ include "todo-chatbot.frontendDatabaseKey" . }}'
    )


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
    # The frontend's calls go to a backend in its own zone when there is one (kube-proxy reads
    # the zone hints). The field exists from Kubernetes 1.31 on (GA in 1.33, the local
    # cluster's); the cdk8s binding of the pinned API lacks it, so it is added here.
    backend = objects.get("Service", "backend")["spec"]
    supported = 'semverCompare ">=1.31-0" .Capabilities.KubeVersion.Version'
    backend[if_key(supported, "trafficDistribution")] = "PreferClose"
    for component in ("backend", "frontend"):
        for service in (component, metrics_component(component)):
            objects.get("Service", service)["spec"].pop("externalIPs", None)


def _entry_point(objects: _Objects, kind: str, section: str) -> dict[str, Any]:
    """The frontend's Ingress or HTTPRoute: rendered when `<section>.enabled`, with its
    `<section>.annotations`."""
    resource = objects.get(kind, "frontend")
    objects.only_if(resource, f".Values.{section}.enabled")
    resource["metadata"].pop("annotations", None)
    resource["metadata"][if_key(f".Values.{section}.annotations", "annotations")] = block(
        f"toYaml .Values.{section}.annotations"
    )
    return resource


def _ingress(objects: _Objects) -> None:
    ingress = _entry_point(objects, "Ingress", "ingress")
    ingress["spec"][if_key(".Values.ingress.className", "ingressClassName")] = _value(
        "ingress.className"
    )
    rule = ingress["spec"]["rules"][0]
    rule["host"] = _value("ingress.host")
    rule["http"]["paths"][0]["backend"]["service"]["port"]["number"] = _number(
        "frontend.service.port"
    )
    api = rule["http"]["paths"][1]
    api[ITEM_IF] = ".Values.backend.publicPath"
    api["path"] = _value("backend.publicPath")
    api["backend"]["service"]["port"]["number"] = _number("backend.containerPorts.http")
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
    route = _entry_point(objects, "HTTPRoute", "httpRoute")
    route["spec"]["parentRefs"] = block("toYaml .Values.httpRoute.parentRefs")
    route["spec"].pop("hostnames", None)
    route["spec"][if_key(".Values.httpRoute.hostnames", "hostnames")] = block(
        "toYaml .Values.httpRoute.hostnames"
    )
    route["spec"]["rules"][0]["backendRefs"][0]["port"] = _number("frontend.service.port")
    api = route["spec"]["rules"][1]
    api[ITEM_IF] = ".Values.backend.publicPath"
    api["matches"][0]["path"]["value"] = _value("backend.publicPath")
    api["backendRefs"][0]["port"] = _number("backend.containerPorts.http")


def _network_policies(objects: _Objects) -> None:
    egress = "networkPolicy.egress"
    defaults = NetworkPolicyProps()
    backend = objects.get("NetworkPolicy", "backend")["spec"]
    frontend = objects.get("NetworkPolicy", "frontend")["spec"]
    backend_port = _number("backend.containerPorts.http")
    frontend_port = _number("frontend.containerPorts.http")
    backend["ingress"][0]["ports"][0]["port"] = backend_port
    frontend["ingress"][0]["ports"][0]["port"] = frontend_port
    frontend["egress"][-1]["ports"][0]["port"] = backend_port
    from_ingress = backend["ingress"][1]
    from_ingress[ITEM_IF] = ".Values.backend.publicPath"
    from_ingress["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] = (
        _value("networkPolicy.ingressNamespace")
    )
    from_ingress["ports"][0]["port"] = backend_port
    for component, spec in (("backend", backend), ("frontend", frontend)):
        scraper = spec["ingress"][-1]
        scraper[ITEM_IF] = ".Values.networkPolicy.metricsNamespace"
        scraper["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] = (
            _value("networkPolicy.metricsNamespace")
        )
        scraper["ports"][0]["port"] = _number(f"{component}.containerPorts.metrics")
    to_frontend = backend["egress"][-1]
    to_frontend[ITEM_IF] = ".Values.networkPolicy.backendToFrontend"
    to_frontend["ports"][0]["port"] = frontend_port
    helm_test = objects.get("NetworkPolicy", HELM_TEST_COMPONENT)["spec"]
    helm_test["egress"][1]["ports"][0]["port"] = frontend_port
    helm_test["egress"][2]["ports"][0]["port"] = backend_port
    for component, spec in (("backend", backend), ("frontend", frontend)):
        extra = f".Values.networkPolicy.extraEgress.{component}"
        spec["egress"].append(include_item(extra, f"toYaml {extra}"))
    for component in ("backend", "frontend", HELM_TEST_COMPONENT, MIGRATIONS):
        policy = objects.get("NetworkPolicy", component)
        objects.only_if(policy, ".Values.networkPolicy.enabled")
        for rule in policy["spec"]["egress"]:
            if "ports" not in rule:
                continue
            port = rule["ports"][0]
            if port["port"] == defaults.database_port:
                rule["to"] = block(
                    f'include "todo-chatbot.ipBlocks" .Values.{egress}.databaseCidrs'
                )
                port["port"] = _number(f"{egress}.databasePort")
            elif port["port"] == defaults.ai_port:
                rule["to"] = block(f'include "todo-chatbot.ipBlocks" .Values.{egress}.aiCidrs')
                port["port"] = _number(f"{egress}.aiPort")


HOOK = {
    "helm.sh/hook": "pre-install,pre-upgrade",
    "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
}
"""A migration hook: run before the release's objects change, deleted once it succeeded."""


def _migrations(objects: _Objects) -> None:
    """The migration Job as a hook: a failure fails the install or upgrade, nothing changed.

    A pre-install hook runs before the release's Secret and NetworkPolicies exist, so the
    Job gets its own: a Secret holding DATABASE_URL only (unless secrets.existingSecret,
    which exists already; with secrets.externalSecret, an ExternalSecret that has the operator
    create it, which the Job's pod waits for) and a NetworkPolicy, all hooks created just
    before it.
    """
    enabled = ".Values.migrations.enabled"
    job = objects.get("Job", MIGRATIONS)
    objects.only_if(job, enabled)
    job["metadata"]["annotations"] = {**HOOK, "helm.sh/hook-weight": "0"}
    spec = job["spec"]
    spec["backoffLimit"] = _number("migrations.backoffLimit")
    spec["activeDeadlineSeconds"] = _number("migrations.activeDeadlineSeconds")
    del spec["template"]["metadata"]["labels"]["cdk8s.io/metadata.addr"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    image = (
        "(ternary .Values.migrations.image .Values.backend.image "
        "(not (empty .Values.migrations.image.repository)))"
    )
    container["image"] = (
        f'{{{{ include "todo-chatbot.image" (list {image} .Chart.AppVersion .Values.global) }}}}'
    )
    container["imagePullPolicy"] = raw(f"{{{{ {image}.pullPolicy | quote }}}}")
    container["resources"] = block("toYaml .Values.backend.resources")
    for key in ("command", "args"):
        container[if_key(f".Values.migrations.{key}", key)] = block(
            f"toYaml .Values.migrations.{key}"
        )
    (database_url,) = container["env"]
    database_url["name"] = _env_name("backend", DATABASE_URL)
    database_url["valueFrom"]["secretKeyRef"]["name"] = raw(
        '{{ default (printf "%s-migrations" (include "todo-chatbot.fullname" .)) '
        ".Values.secrets.existingSecret | quote }}"
    )
    container["env"].append(
        include_item(".Values.migrations.extraEnvVars", "toYaml .Values.migrations.extraEnvVars")
    )
    _security(pod, "backend")
    for key in ("nodeSelector", "tolerations", "affinity"):
        pod[if_key(f".Values.backend.{key}", key)] = block(f"toYaml .Values.backend.{key}")
    pod[if_key(".Values.backend.image.pullSecrets", "imagePullSecrets")] = block(
        'include "todo-chatbot.pullSecrets" .Values.backend.image.pullSecrets'
    )

    policy = objects.get("NetworkPolicy", MIGRATIONS)
    objects.only_if(policy, f"and {enabled} .Values.networkPolicy.enabled")
    extra = ".Values.networkPolicy.extraEgress.migrations"
    policy["spec"]["egress"].append(include_item(extra, f"toYaml {extra}"))
    policy["metadata"]["annotations"] = {**HOOK, "helm.sh/hook-weight": "-10"}

    secret = copy.deepcopy(objects.get("Secret", "secrets"))
    secret["metadata"]["name"] = job["metadata"]["name"]
    secret["metadata"]["labels"] = copy.deepcopy(job["metadata"]["labels"])
    secret["metadata"]["annotations"] = {**HOOK, "helm.sh/hook-weight": "-10"}
    secret["data"] = {DATABASE_URL: secret["data"][DATABASE_URL]}
    objects.documents.append(secret)
    objects.only_if(secret, f"and {enabled} (not (or .Values.secrets.existingSecret {EXTERNAL}))")

    external_secret = copy.deepcopy(objects.get("ExternalSecret", "secrets"))
    external_secret["metadata"]["name"] = job["metadata"]["name"]
    external_secret["metadata"]["labels"] = copy.deepcopy(job["metadata"]["labels"])
    external_secret["metadata"]["annotations"] = {**HOOK, "helm.sh/hook-weight": "-10"}
    external_secret["spec"]["target"]["name"] = job["metadata"]["name"]
    external_secret["spec"]["data"] = block(
        'include "todo-chatbot.externalSecretData" '
        f'(pick .Values.secrets.externalSecret.remoteRefs "{DATABASE_URL}")'
    )
    objects.documents.append(external_secret)
    objects.only_if(
        external_secret, f"and {enabled} (not .Values.secrets.existingSecret) {EXTERNAL}"
    )


def _metrics(objects: _Objects) -> None:
    """The metrics Services, the monitors, the rules and the pods' prometheus.io annotations,
    behind metrics.*."""
    enabled = ".Values.metrics.enabled"
    for component in ("backend", "frontend"):
        objects.only_if(objects.get("Service", metrics_component(component)), enabled)
        template = objects.get("Deployment", component)["spec"]["template"]["metadata"]
        annotated = f"and {enabled} .Values.metrics.annotations"
        template["annotations"][if_key(annotated, "prometheus.io/scrape")] = "true"
        template["annotations"][if_key(annotated, "prometheus.io/port")] = _value(
            f"{component}.containerPorts.metrics"
        )
        template["annotations"][if_key(annotated, "prometheus.io/path")] = METRICS_PATH
    for kind, values, endpoints in (
        ("ServiceMonitor", "metrics.serviceMonitor", "endpoints"),
        ("PodMonitor", "metrics.podMonitor", "podMetricsEndpoints"),
    ):
        monitor = objects.get(kind, METRICS)
        objects.only_if(monitor, f"and {enabled} .Values.{values}.enabled")
        namespace = f".Values.{values}.namespace"
        metadata = monitor["metadata"]
        _replace_key(
            metadata,
            "name",
            {
                "name": metadata["name"],
                if_key(namespace, "namespace"): _value(f"{values}.namespace"),
            },
        )
        metadata["labels"][with_key(f".Values.{values}.labels")] = None
        monitor["spec"][if_key(namespace, "namespaceSelector")] = {
            "matchNames": [raw("{{ .Release.Namespace | quote }}")]
        }
        endpoint = monitor["spec"][endpoints][0]
        endpoint["interval"] = _value(f"{values}.interval")
        endpoint[if_key(f".Values.{values}.scrapeTimeout", "scrapeTimeout")] = _value(
            f"{values}.scrapeTimeout"
        )
    rule = objects.get("PrometheusRule", METRICS)
    objects.only_if(rule, f"and {enabled} .Values.metrics.prometheusRule.enabled")
    rule["metadata"]["labels"][with_key(".Values.metrics.prometheusRule.labels")] = None
    constructed = error_budget(default_of(PrometheusRuleProps, "availability_objective"))
    objective = error_budget("{{ .Values.metrics.prometheusRule.availabilityObjective }}")
    for group in rule["spec"]["groups"]:
        for item in group["rules"]:
            item["expr"] = item["expr"].replace(constructed, objective)


def _common_metadata(objects: _Objects) -> None:
    """commonLabels and commonAnnotations on every object; commonLabels on the pods too."""
    common = ".Values.commonAnnotations"
    for document in objects.documents:
        metadata = document["metadata"]
        metadata["labels"][with_key(".Values.commonLabels")] = None
        own = next(
            (key for key in metadata if key.startswith(IF) and key.endswith(" ~annotations")),
            None,
        )
        if isinstance(metadata.get("annotations"), dict):
            metadata["annotations"][with_key(common)] = None
            continue
        if own is None:
            metadata[if_key(common, "annotations")] = block(f"toYaml {common}")
            continue
        # The object's own annotations win over the common ones.
        condition = own.removeprefix(IF).removesuffix(f"{IF_NAME_SEPARATOR}annotations")
        expression = metadata[own].removeprefix("~block toYaml ")
        _replace_key(
            metadata,
            own,
            {
                if_key(f"or {condition} {common}", "annotations"): block(
                    f"toYaml (merge (dict) {expression} {common})"
                )
            },
        )
    for kind, component in (
        ("Deployment", "backend"),
        ("Deployment", "frontend"),
        ("Job", MIGRATIONS),
    ):
        template = objects.get(kind, component)["spec"]["template"]["metadata"]
        template["labels"][with_key(".Values.commonLabels")] = None
