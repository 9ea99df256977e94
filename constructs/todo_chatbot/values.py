"""The typed model of the Helm chart's values.

One model, three outputs that therefore cannot drift: `values.yaml` (with a
`## @param` comment per key), `values.schema.json` (types, bounds, enums, and
no unknown keys) and the parameter table of the chart README. The Helm layer
(`todo_chatbot.helm`) refers to every leaf of this model from the templates.

Defaults are the constructs' defaults (`default_of(BackendProps, ...)`), so
`helm install` with no values and the library with no props deploy the same
thing.

Secret values have no defaults and no schema patterns: Helm prints the value
that failed a pattern, so their checks live in the templates, which name the
key only.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from .backend import BackendProps
from .frontend import FrontendProps
from .helm_yaml import plain_scalar
from .network_policy import NetworkPolicyProps
from .workload import AutoscalingProps, ProbeProps, WorkloadProps

LogLevel = Literal["debug", "info", "warning", "error"]
AiProvider = Literal["openai", "gemini"]
ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]
ExternalTrafficPolicy = Literal["Cluster", "Local"]
Scheme = Literal["https", "http"]
Quantity = str | float
QUANTITY = {
    "minimum": 0,
    # Kubernetes' quantity syntax (resource.Quantity); numbers come from `--set cpu=2`.
    "pattern": r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
}
"""Schema of one resource quantity: "500m", "256Mi", "1.5", or a plain number; never negative."""
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_CIDR = rf"({_OCTET}\.){{3}}{_OCTET}/(3[0-2]|[12]?[0-9])"
_IPV6_CIDR = r"[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/(12[0-8]|1[01][0-9]|[1-9]?[0-9])"
CIDR = {
    # Kubernetes refuses a bad ipBlock only when it applies the NetworkPolicy, halfway through
    # an install; the schema refuses it before anything is applied.
    "pattern": rf"^({_IPV4_CIDR}|{_IPV6_CIDR})$",
}
"""Schema of one CIDR: "10.0.0.0/8", "0.0.0.0/0" or an IPv6 one such as "fd00::/8"."""


def default_of(props: type, name: str) -> Any:
    """The default of the construct prop `name` of the props dataclass `props`."""
    (found,) = [f for f in dataclasses.fields(props) if f.name == name]
    if found.default_factory is not dataclasses.MISSING:
        return found.default_factory()
    return found.default


def cpu_quantity(millis: int) -> str:
    """A CPU quantity as operators write it: "500m", or "1" for whole cores."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


PRE_STOP_SLEEP_SECONDS: int = default_of(WorkloadProps, "pre_stop_sleep_seconds")
"""The pods' fixed preStop pause; the grace period must outlast it."""


def param(default: Any, doc: str, **schema: Any) -> Any:
    """Declare a value: its default, its one-line description, extra schema keywords."""
    factory = (
        (lambda: json.loads(json.dumps(default))) if isinstance(default, dict | list) else None
    )
    metadata = {"doc": doc, "schema": schema}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def section(factory: typing.Callable[[], Any], doc: str) -> Any:
    """Declare a nested group of values, built by `factory`."""
    return field(default_factory=factory, metadata={"doc": doc, "schema": {}})


@dataclass
class Image:
    registry: str = param(
        "localhost:5001", "Image registry (the local cluster's registry by default)"
    )
    repository: str = param("", "Image repository")
    tag: str = param("", "Image tag; empty means the chart's appVersion")
    digest: str = param(
        "",
        "Image digest (sha256:...); overrides the tag when set",
        pattern=r"^(sha256:[a-f0-9]{64})?$",
    )
    pullPolicy: PullPolicy = param(
        default_of(WorkloadProps, "image_pull_policy"), "Image pull policy"
    )
    pullSecrets: list[str] = param([], "Names of docker-registry Secrets used to pull the image")


@dataclass
class Resources:
    requests: dict[str, Quantity] = param(
        {}, "Resource requests (cpu, memory)", additionalProperties=QUANTITY
    )
    limits: dict[str, Quantity] = param(
        {}, "Resource limits (cpu, memory)", additionalProperties=QUANTITY
    )

    @classmethod
    def of(cls, props: type) -> Resources:
        """The default resources of the component whose props class is `props`."""

        def quantities(kind: str) -> dict[str, Quantity]:
            millis = default_of(props, f"cpu_{kind}_millis")
            mebibytes = default_of(props, f"memory_{kind}_mebibytes")
            return {"cpu": cpu_quantity(millis), "memory": f"{mebibytes}Mi"}

        return cls(requests=quantities("request"), limits=quantities("limit"))


@dataclass
class Autoscaling:
    enabled: bool = param(False, "Create a HorizontalPodAutoscaler (autoscaling/v2, CPU)")
    minReplicas: int = param(
        default_of(AutoscalingProps, "min_replicas"),
        "Fewest replicas the autoscaler keeps",
        minimum=1,
    )
    maxReplicas: int = param(
        default_of(AutoscalingProps, "max_replicas"),
        "Most replicas the autoscaler creates",
        minimum=1,
    )
    targetCPUUtilizationPercentage: int = param(
        default_of(AutoscalingProps, "target_cpu_percent"),
        "Average CPU utilisation (percent of requests) the autoscaler aims for",
        minimum=1,
        maximum=100,
    )
    scaleDownStabilizationSeconds: int = param(
        default_of(AutoscalingProps, "scale_down_stabilization_seconds"),
        "Seconds the load must stay low before the autoscaler removes replicas",
        minimum=0,
        maximum=3600,
    )


@dataclass
class PodDisruptionBudget:
    enabled: bool = param(True, "Create a PodDisruptionBudget")
    maxUnavailable: int = param(
        default_of(WorkloadProps, "max_unavailable"),
        "Pods that voluntary disruptions may take down at once",
        minimum=0,
    )
    minAvailable: int | None = param(
        default_of(WorkloadProps, "min_available"),
        "Pods that voluntary disruptions must leave running; when set, replaces maxUnavailable",
        minimum=0,
    )


_LIVENESS: ProbeProps = default_of(WorkloadProps, "liveness")


@dataclass
class Probe:
    path: str = param(_LIVENESS.path, "HTTP path the kubelet GETs", pattern="^/")
    periodSeconds: int = param(_LIVENESS.period_seconds, "Seconds between two probes", minimum=1)
    timeoutSeconds: int = param(
        _LIVENESS.timeout_seconds, "Seconds a probe may take before it fails", minimum=1
    )
    failureThreshold: int = param(
        _LIVENESS.failure_threshold, "Failures in a row before the kubelet acts", minimum=1
    )

    @classmethod
    def default(cls, name: str) -> Probe:
        """The constructs' default for the probe `name` (liveness, readiness, startup)."""
        probe: ProbeProps = default_of(WorkloadProps, name)
        return cls(
            path=probe.path,
            periodSeconds=probe.period_seconds,
            timeoutSeconds=probe.timeout_seconds,
            failureThreshold=probe.failure_threshold,
        )


@dataclass
class Probes:
    liveness: Probe = section(
        lambda: Probe.default("liveness"),
        "Liveness probe: restarts a hung container (detected in 12-17 s by default; "
        "faster means more false restarts under load)",
    )
    readiness: Probe = section(
        lambda: Probe.default("readiness"),
        "Readiness probe: takes the pod out of the Service while failing",
    )
    startup: Probe = section(
        lambda: Probe.default("startup"),
        "Startup probe: holds the other probes until the app serves",
    )


GRACE_PERIOD_DOC = (
    f"Seconds a stopping pod gets: a {PRE_STOP_SLEEP_SECONDS} s preStop pause (so the "
    "Service stops routing to it first), then in-flight requests finish; "
    f"at least {PRE_STOP_SLEEP_SECONDS + 1}"
)


@dataclass
class ServiceAccount:
    annotations: dict[str, str] = param(
        default_of(WorkloadProps, "service_account_annotations"),
        "Annotations of the component's ServiceAccount, e.g. a cloud workload identity "
        "(eks.amazonaws.com/role-arn, iam.gke.io/gcp-service-account)",
    )


@dataclass
class Component:
    """What the backend and the frontend have in common."""

    image: Image = section(Image, "Container image")
    replicaCount: int = param(
        default_of(WorkloadProps, "replicas"), "Replicas when autoscaling is off", minimum=0
    )
    resources: Resources = section(Resources, "Container resources")
    autoscaling: Autoscaling = section(Autoscaling, "Horizontal pod autoscaling")
    podDisruptionBudget: PodDisruptionBudget = section(PodDisruptionBudget, "Disruption budget")
    probes: Probes = section(Probes, "Health probes")
    terminationGracePeriodSeconds: int = param(
        default_of(WorkloadProps, "termination_grace_seconds"),
        GRACE_PERIOD_DOC,
        minimum=PRE_STOP_SLEEP_SECONDS + 1,
    )
    podAnnotations: dict[str, str] = param({}, "Extra annotations on the pods")
    serviceAccount: ServiceAccount = section(ServiceAccount, "The component's ServiceAccount")
    nodeSelector: dict[str, str] = param({}, "Node labels the pods must match")
    tolerations: list[dict[str, Any]] = param([], "Tolerations of the pods")
    affinity: dict[str, Any] = param({}, "Affinity rules of the pods")


@dataclass
class FrontendService:
    type: ServiceType = param(
        "ClusterIP",
        "Service type; NodePort or LoadBalancer expose the frontend without an ingress controller",
    )
    port: int = param(
        default_of(FrontendProps, "service_port"), "Service port", minimum=1, maximum=65535
    )
    nodePort: int | None = param(
        None, "Fixed node port when type is NodePort (30000-32767)", minimum=30000, maximum=32767
    )
    externalTrafficPolicy: ExternalTrafficPolicy = param(
        "Cluster",
        "With NodePort or LoadBalancer: Cluster (every node forwards, the app sees a node's "
        "address) or Local (only nodes running a frontend pod answer, the app sees the "
        "client's address, which the sign-in rate limit is keyed on)",
    )


@dataclass
class Backend(Component):
    image: Image = section(lambda: Image(repository="todo-chatbot/backend"), "Container image")
    resources: Resources = section(lambda: Resources.of(BackendProps), "Container resources")
    terminationGracePeriodSeconds: int = param(
        default_of(BackendProps, "termination_grace_seconds"),
        f"{GRACE_PERIOD_DOC}; the default outlasts a chat turn (at most 50 s)",
        minimum=PRE_STOP_SLEEP_SECONDS + 1,
    )


@dataclass
class Frontend(Component):
    image: Image = section(lambda: Image(repository="todo-chatbot/frontend"), "Container image")
    resources: Resources = section(lambda: Resources.of(FrontendProps), "Container resources")
    service: FrontendService = section(FrontendService, "The frontend's Service")
    signUpLimitPerClient: int = param(
        default_of(FrontendProps, "sign_up_limit_per_client"),
        "Sign-ups one client address may make per 10 minutes, per replica (429 beyond)",
        minimum=1,
    )
    trustedProxies: list[str] = param(
        list(default_of(FrontendProps, "trusted_proxies")),
        "CIDRs of the proxies (the ingress controller's pods) whose X-Forwarded-For the "
        "sign-in and sign-up limits believe; empty: the limits key on the connection's address",
        items=CIDR,
    )


@dataclass
class Secrets:
    existingSecret: str = param(
        "",
        "Name of an existing Secret holding DATABASE_URL, "
        "BETTER_AUTH_SECRET and the AI key; when set, the chart creates "
        "no Secret and the values below are ignored",
    )
    databaseUrl: str = param(
        "",
        "PostgreSQL URL, e.g. postgresql://user:pass@host/db?sslmode="
        "require (required unless existingSecret)",
    )
    betterAuthSecret: str = param(
        "", "Better Auth secret, at least 32 characters (required unless existingSecret)"
    )
    openaiApiKey: str = param("", "OpenAI API key (required when ai.provider is openai)")
    geminiApiKey: str = param("", "Gemini API key (required when ai.provider is gemini)")


@dataclass
class Ai:
    provider: AiProvider = param(
        default_of(BackendProps, "ai_provider"), "AI provider of the chat assistant"
    )
    model: str = param(default_of(BackendProps, "ai_model"), "Chat model name", minLength=1)
    baseUrl: str = param(
        "",
        "OpenAI-compatible base URL; empty means the provider's own",
        pattern=r"^(https?://.+)?$",
    )
    timeoutSeconds: int = param(
        default_of(BackendProps, "ai_timeout_seconds"),
        "Timeout of one AI provider call",
        minimum=1,
        maximum=300,
    )


@dataclass
class Config:
    logLevel: LogLevel = param(default_of(BackendProps, "log_level"), "Log level of both services")
    publicUrl: str = param(
        "",
        "URL users open (https:// turns on Secure cookies; a browser's Origin must match it "
        "or the Host it used); "
        "empty means the ingress host (https with ingress.tls.enabled), else the route's "
        "first hostname (httpRoute.scheme), else http://localhost:8080 (port-forward); "
        "set it for NodePort or LoadBalancer access",
        pattern=r"^(https?://.+)?$",
    )


@dataclass
class IngressTls:
    enabled: bool = param(False, "Serve the host over TLS")
    secretName: str = param("", "TLS Secret of the host; empty means <fullname>-tls")


@dataclass
class Ingress:
    enabled: bool = param(False, "Create an Ingress for the frontend")
    className: str = param("", "IngressClass name; empty means the cluster default")
    host: str = param(
        "todo.example.com", "Host name users open", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
    )
    annotations: dict[str, str] = param({}, "Annotations of the Ingress (controller settings)")
    tls: IngressTls = section(IngressTls, "TLS of the Ingress")


@dataclass
class HttpRoute:
    enabled: bool = param(False, "Create a Gateway API HTTPRoute for the frontend")
    parentRefs: list[dict[str, Any]] = param(
        [], "Gateways the route attaches to, e.g. [{name: gateway, namespace: infra}]"
    )
    hostnames: list[str] = param(
        [],
        "Host names the route serves; empty means every host the Gateway accepts, and then "
        "config.publicUrl is required",
    )
    scheme: Scheme = param(
        "https",
        "How users reach the Gateway's listener: https when the Gateway terminates TLS "
        "(Secure cookies), http for a plain listener; the public URL is "
        "<scheme>://<first hostname> unless config.publicUrl is set",
    )
    annotations: dict[str, str] = param({}, "Annotations of the HTTPRoute")


@dataclass
class NetworkPolicyEgress:
    databaseCidrs: list[str] = param(
        list(default_of(NetworkPolicyProps, "database_cidrs")),
        "CIDRs where the database lives; at least one (an empty list would allow every "
        "destination), 0.0.0.0/0 for anywhere",
        minItems=1,
        items=CIDR,
    )
    databasePort: int = param(
        default_of(NetworkPolicyProps, "database_port"),
        "Port of the database",
        minimum=1,
        maximum=65535,
    )
    aiCidrs: list[str] = param(
        list(default_of(NetworkPolicyProps, "ai_cidrs")),
        "CIDRs of the AI provider's API; at least one, 0.0.0.0/0 for anywhere",
        minItems=1,
        items=CIDR,
    )
    aiPort: int = param(
        default_of(NetworkPolicyProps, "ai_port"),
        "Port of the AI provider's API",
        minimum=1,
        maximum=65535,
    )


@dataclass
class NetworkPolicy:
    enabled: bool = param(
        True,
        "Backend reachable only from the frontend; egress limited to "
        "DNS, the database and the AI API",
    )
    egress: NetworkPolicyEgress = section(NetworkPolicyEgress, "Where the pods may connect")


@dataclass
class Values:
    nameOverride: str = param("", "Replaces the chart name in object names")
    fullnameOverride: str = param("", "Replaces the whole <release>-<chart> object name prefix")
    secrets: Secrets = section(Secrets, "Secret values (never commit them; prefer existingSecret)")
    ai: Ai = section(Ai, "The AI assistant")
    config: Config = section(Config, "Non-secret configuration")
    backend: Backend = section(Backend, "The FastAPI backend (reachable inside the cluster only)")
    frontend: Frontend = section(Frontend, "The web frontend (exposed to users)")
    ingress: Ingress = section(Ingress, "Ingress for the frontend")
    httpRoute: HttpRoute = section(HttpRoute, "Gateway API HTTPRoute for the frontend")
    networkPolicy: NetworkPolicy = section(NetworkPolicy, "NetworkPolicies")


# ---- outputs ---------------------------------------------------------------


def _schema_of(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return schema_for(hint)
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        inner = [_schema_of(a) for a in args if a is not type(None)]
        if len(inner) == 1:
            return {**inner[0], "type": [inner[0]["type"], "null"]}
        return {"type": [schema["type"] for schema in inner]}
    if origin is list:
        return {"type": "array", "items": _schema_of(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema_of(args[1])}
    if hint is Any:
        return {}
    return {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[hint]}


def schema_for(cls: type) -> dict[str, Any]:
    """JSON schema of a values dataclass; unknown keys are rejected.

    A field's extra keywords refine its type's schema; a mapping keyword (e.g.
    `additionalProperties`) is merged into the generated one.
    """
    hints = typing.get_type_hints(cls)
    properties = {}
    for f in dataclasses.fields(cls):
        schema = {"description": f.metadata["doc"], **_schema_of(hints[f.name])}
        for key, extra in f.metadata["schema"].items():
            merge = isinstance(extra, dict) and isinstance(schema.get(key), dict)
            schema[key] = {**schema[key], **extra} if merge else extra
        properties[f.name] = schema
    return {"type": "object", "additionalProperties": False, "properties": properties}


def values_schema() -> dict[str, Any]:
    """The complete values.schema.json document."""
    return {
        "$schema": "https://json-schema.org/draft-07/schema#",
        "title": "todo-chatbot values",
        **schema_for(Values),
    }


def _leaves(obj: Any, prefix: str = "") -> typing.Iterator[tuple[str, str, Any, bool]]:
    """Yield (path, doc, default, is_section) for every field, depth first."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield path, f.metadata["doc"], None, True
            yield from _leaves(value, path + ".")
        else:
            yield path, f.metadata["doc"], value, False


def value_paths(values: Values) -> list[str]:
    """Every leaf path, e.g. `backend.image.tag`."""
    return [path for path, _, _, is_section in _leaves(values) if not is_section]


def values_yaml(values: Values) -> str:
    """values.yaml with a `## @param` line above every key (Bitnami's readme-generator style)."""
    lines = [
        "# Default values of the todo-chatbot chart. Every key is documented with",
        "# `## @param`; values.schema.json rejects unknown keys and wrong types.",
        "# Secrets have no defaults: pass them at install time or use",
        "# secrets.existingSecret.",
        "",
    ]

    def walk(obj: Any, prefix: str, indent: int) -> None:
        pad = " " * indent
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            path = f"{prefix}{f.name}"
            if dataclasses.is_dataclass(value):
                if indent == 0:
                    lines.append("")
                lines.append(f"{pad}## @section {path}: {f.metadata['doc']}")
                lines.append(f"{pad}{f.name}:")
                walk(value, path + ".", indent + 2)
                continue
            lines.append(f"{pad}## @param {path} {f.metadata['doc']}")
            if isinstance(value, dict | list) and value:
                block = yaml.safe_dump({f.name: value}, default_flow_style=False, sort_keys=False)
                lines.extend(pad + line for line in block.rstrip().splitlines())
            else:
                lines.append(f"{pad}{f.name}: {plain_scalar(value)}")

    walk(values, "", 0)
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def parameters_table(values: Values) -> str:
    """The chart README's parameter table (Markdown)."""
    rows = ["| Parameter | Description | Default |", "| --- | --- | --- |"]
    for path, doc, default, is_section in _leaves(values):
        if not is_section:
            rows.append(f"| `{path}` | {doc} | `{json.dumps(default)}` |")
    return "\n".join(rows) + "\n"
