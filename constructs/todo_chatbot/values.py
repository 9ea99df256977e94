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

from . import backend, choices, frontend
from .backend import BackendProps
from .external_secret import REFRESH_INTERVAL, ExternalSecretProps, SecretStoreKind
from .frontend import FrontendProps
from .helm_yaml import plain_scalar
from .migration import MigrationProps
from .network_policy import NetworkPolicyProps
from .prometheus_rule import PrometheusRuleProps
from .secret import SECRET_KEY, SECRET_KEYS
from .service_monitor import DURATION, ScrapeProps
from .workload import (
    ENV_NAME,
    AutoscalingProps,
    ProbeProps,
    WorkloadProps,
    camel_case,
    chart_values,
)

# The schema's enums come from the `Literal`s, built from `choices` at run time; mypy
# cannot read a `Literal` of a tuple, so it checks these as plain strings.
if typing.TYPE_CHECKING:
    LogLevel = str
    AiProvider = str
    ServiceType = str
    PullPolicy = str
else:
    LogLevel = Literal[choices.LOG_LEVELS]
    AiProvider = Literal[choices.AI_PROVIDERS]
    ServiceType = Literal[choices.SERVICE_TYPES]
    PullPolicy = Literal[choices.PULL_POLICIES]
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
PORT = {"minimum": 1, "maximum": 65535}
"""Schema of one TCP port."""
HTTP_URL = {"pattern": r"^(https?://.+)?$"}
"""Schema of an http:// or https:// URL, or of an empty string."""
_NAMESPACE = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$"
"""A namespace name, or empty."""


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
    # The local cluster's registry, cluster/localcluster/settings.REGISTRY, which this package
    # is installed without (tests/images/test_build_driver.py checks they are equal).
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
        {}, "Resource requests (cpu, memory, ephemeral-storage)", additionalProperties=QUANTITY
    )
    limits: dict[str, Quantity] = param(
        {}, "Resource limits (cpu, memory, ephemeral-storage)", additionalProperties=QUANTITY
    )

    @classmethod
    def of(cls, props: type) -> Resources:
        """The default resources of the component whose props class is `props`."""

        def quantities(kind: str) -> dict[str, Quantity]:
            millis = default_of(props, f"cpu_{kind}_millis")
            mebibytes = default_of(props, f"memory_{kind}_mebibytes")
            storage = default_of(props, f"ephemeral_storage_{kind}_mebibytes")
            return {
                "cpu": cpu_quantity(millis),
                "memory": f"{mebibytes}Mi",
                "ephemeral-storage": f"{storage}Mi",
            }

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
    enabled: bool = param(True, "Run this probe")
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


def _values_hint(hint: Any) -> Any:
    """The values' type of a prop's type: tuples are lists in YAML."""
    if typing.get_origin(hint) is tuple:
        return list[typing.get_args(hint)[0]]  # type: ignore[misc]
    return hint


def with_chart_values(props: type, **schemas: Any) -> typing.Callable[[type], type]:
    """Add a value per `chart_value` prop of `props`, named, documented and defaulted by it.

    `schemas` refines a value's schema for one component (`envNames={...}`).
    """

    def decorate(cls: type) -> type:
        hints = typing.get_type_hints(props)
        for prop in chart_values(props):
            name = camel_case(prop.name)
            chart = prop.metadata["chart"]
            default = default_of(props, prop.name)
            cls.__annotations__[name] = _values_hint(hints[prop.name])
            declared = param(
                list(default) if isinstance(default, tuple) else default,
                chart["doc"],
                **{**chart["schema"], **schemas.get(name, {})},
            )
            setattr(cls, name, declared)
        return cls

    return decorate


@dataclass
class ContainerPorts:
    http: int = param(
        backend.PORT,
        "Port the image listens on: the container port, the Service's targetPort, the "
        "probes', the NetworkPolicies' and helm test's port",
        **PORT,
    )
    metrics: int = param(
        default_of(WorkloadProps, "metrics_port"),
        "Port of the image's /metrics, apart from http so that no Ingress or HTTPRoute reaches "
        "it: the container port named metrics and, with metrics.enabled, the only port of the "
        "component's metrics Service, which the monitors scrape",
        **PORT,
    )


@dataclass
class Component:
    """What the backend and the frontend have in common."""

    image: Image = section(Image, "Container image")
    containerPorts: ContainerPorts = section(ContainerPorts, "Ports of the container")
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
    port: int = param(default_of(FrontendProps, "service_port"), "Service port", **PORT)
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
class ChatLimits:
    turnsPerMinute: int = param(
        default_of(BackendProps, "chat_turns_per_minute"),
        "Chat turns one user may start per minute, per replica (429 with Retry-After beyond): "
        "every turn costs the AI provider's fees",
        minimum=1,
    )
    concurrentTurns: int = param(
        default_of(BackendProps, "chat_concurrent_turns"),
        "Chat turns one user may have running at once, per replica (429 beyond)",
        minimum=1,
    )


def _renames(variables: tuple[str, ...]) -> dict[str, Any]:
    """envNames takes the variables the component gets from the chart, and only those."""
    name = {"type": "string", "pattern": ENV_NAME.pattern}
    return {
        "envNames": {
            "properties": {variable: name for variable in variables},
            "additionalProperties": False,
        }
    }


@dataclass
@with_chart_values(BackendProps, **_renames(backend.VARIABLES))
class Backend(Component):
    image: Image = section(lambda: Image(repository="todo-chatbot/backend"), "Container image")
    publicPath: str = param(
        default_of(BackendProps, "public_path"),
        "Path prefix (e.g. /api) the frontend's Ingress or HTTPRoute also routes to the "
        "backend, for images whose browser code calls the backend itself: this EXPOSES THE "
        "BACKEND'S API TO BROWSERS; needs networkPolicy.ingressNamespace. Empty means the "
        "backend is reachable inside the cluster only",
        pattern="^(/[^/].*)?$",
    )
    resources: Resources = section(lambda: Resources.of(BackendProps), "Container resources")
    chatLimits: ChatLimits = section(ChatLimits, "Per-user limits on chat turns")
    terminationGracePeriodSeconds: int = param(
        default_of(BackendProps, "termination_grace_seconds"),
        f"{GRACE_PERIOD_DOC}; the default outlasts a chat turn (at most 50 s)",
        minimum=PRE_STOP_SLEEP_SECONDS + 1,
    )


@dataclass
@with_chart_values(FrontendProps, **_renames(frontend.VARIABLES))
class Frontend(Component):
    image: Image = section(lambda: Image(repository="todo-chatbot/frontend"), "Container image")
    containerPorts: ContainerPorts = section(
        lambda: ContainerPorts(http=frontend.PORT), "Ports of the container"
    )
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
class SecretStoreRef:
    name: str = param(
        "",
        "SecretStore (or ClusterSecretStore) that reads the remote secrets (required when "
        "secrets.externalSecret.enabled)",
    )
    kind: SecretStoreKind = param(
        default_of(ExternalSecretProps, "secret_store_kind"),
        "Kind of the store: a SecretStore in the release's namespace or a ClusterSecretStore",
    )


@dataclass
class ExternalSecret:
    enabled: bool = param(
        False,
        "Have the External Secrets Operator create the release's Secret from a secret store "
        "(an ExternalSecret, external-secrets.io/v1; needs the operator and its CRDs) instead "
        "of the values below; pods do not restart when it updates the Secret (chart README)",
    )
    secretStoreRef: SecretStoreRef = section(SecretStoreRef, "The store the values come from")
    refreshInterval: str = param(
        default_of(ExternalSecretProps, "refresh_interval"),
        "How often the operator reads the remote values again and updates the Secret (a Go "
        "duration; 0 never)",
        pattern=REFRESH_INTERVAL.pattern,
    )
    remoteRefs: dict[str, dict[str, str]] = param(
        {},
        "Each key of the Secret and where its value lives, e.g. {DATABASE_URL: {key: app, "
        "property: database-url}}; DATABASE_URL, BETTER_AUTH_SECRET and the key of ai.provider "
        "are required, and the keys that extraSecretKeys name",
        additionalProperties=False,
        patternProperties={
            SECRET_KEY.pattern: {
                "type": "object",
                "additionalProperties": False,
                "required": ["key"],
                "properties": {
                    "key": {"type": "string", "minLength": 1},
                    "property": {"type": "string"},
                },
            }
        },
    )


@dataclass
class Secrets:
    existingSecret: str = param(
        "",
        "Name of an existing Secret holding DATABASE_URL, "
        "BETTER_AUTH_SECRET and the AI key; when set, the chart creates "
        "no Secret and the values below, but existingSecretFrontendDatabaseUrl, are ignored",
    )
    existingSecretFrontendDatabaseUrl: bool = param(
        False,
        "The existing Secret also holds FRONTEND_DATABASE_URL, the frontend's own URL "
        "(see frontendDatabaseUrl); false: the frontend reads DATABASE_URL",
    )
    externalSecret: ExternalSecret = section(
        ExternalSecret, "The release's Secret from a secret store (External Secrets Operator)"
    )
    databaseUrl: str = param(
        "",
        "PostgreSQL URL, e.g. postgresql://user:pass@host/db?sslmode="
        "require (required unless existingSecret); the backend's, and the frontend's "
        "unless frontendDatabaseUrl is set",
    )
    frontendDatabaseUrl: str = param(
        "",
        "The frontend's own PostgreSQL URL (least privilege: a role that owns the sign-in "
        "tables and cannot read the tasks, while databaseUrl's role cannot read the "
        "users and sessions); empty: the frontend uses databaseUrl",
    )
    betterAuthSecret: str = param(
        "",
        f"Better Auth secret, at least {choices.MIN_AUTH_SECRET_LENGTH} characters "
        "(required unless existingSecret)",
    )
    openaiApiKey: str = param("", "OpenAI API key (required when ai.provider is openai)")
    geminiApiKey: str = param("", "Gemini API key (required when ai.provider is gemini)")
    extra: dict[str, str] = param(
        {},
        "More keys of the chart-managed Secret, e.g. {GROQ_API_KEY: ...}; a component gets "
        "one only when its extraSecretKeys names it",
        # Keys are checked with (pattern)properties, not propertyNames, whose errors Helm
        # reports at a wrong path; no check prints a value.
        additionalProperties=False,
        patternProperties={SECRET_KEY.pattern: {"type": "string"}},
        properties={key: {"not": {}} for key in SECRET_KEYS},
    )


@dataclass
class Ai:
    provider: AiProvider = param(
        default_of(BackendProps, "ai_provider"), "AI provider of the chat assistant"
    )
    model: str = param(default_of(BackendProps, "ai_model"), "Chat model name", minLength=1)
    baseUrl: str = param(
        "",
        "OpenAI-compatible base URL; empty means the provider's own",
        **HTTP_URL,
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
        **HTTP_URL,
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
        **PORT,
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
        **PORT,
    )


_EGRESS_RULES = {"items": {"type": "object"}}


@dataclass
class NetworkPolicyExtraEgress:
    backend: list[dict[str, Any]] = param(
        list(default_of(NetworkPolicyProps, "extra_egress_backend")),
        "More egress rules of the backend (Kubernetes NetworkPolicyEgressRule objects)",
        **_EGRESS_RULES,
    )
    frontend: list[dict[str, Any]] = param(
        list(default_of(NetworkPolicyProps, "extra_egress_frontend")),
        "More egress rules of the frontend, e.g. the database over 443 for a serverless "
        "driver (Kubernetes NetworkPolicyEgressRule objects)",
        **_EGRESS_RULES,
    )
    migrations: list[dict[str, Any]] = param(
        list(default_of(NetworkPolicyProps, "extra_egress_migrations")),
        "More egress rules of the migration Job (Kubernetes NetworkPolicyEgressRule objects)",
        **_EGRESS_RULES,
    )


@dataclass
class NetworkPolicy:
    enabled: bool = param(
        True,
        "Backend reachable only from the frontend; egress limited to "
        "DNS, the database and the AI API",
    )
    egress: NetworkPolicyEgress = section(NetworkPolicyEgress, "Where the pods may connect")
    extraEgress: NetworkPolicyExtraEgress = section(
        NetworkPolicyExtraEgress, "Egress rules added to the chart's"
    )
    backendToFrontend: bool = param(
        default_of(NetworkPolicyProps, "backend_to_frontend"),
        "Let the backend reach the frontend on the frontend's container port (e.g. a Better "
        "Auth JWKS endpoint the backend verifies tokens with)",
    )
    ingressNamespace: str = param(
        default_of(NetworkPolicyProps, "ingress_namespace"),
        "Namespace where the ingress controller's (or the Gateway's proxy) pods run; admitted "
        "to the backend's port when backend.publicPath is set (required then)",
        pattern=_NAMESPACE,
    )
    metricsNamespace: str = param(
        default_of(NetworkPolicyProps, "metrics_namespace"),
        "Namespace where Prometheus runs, admitted to both components' metrics port and no "
        "other; empty means nothing reaches the metrics port",
        pattern=_NAMESPACE,
    )


@dataclass
class Monitor:
    enabled: bool = param(False, "Create the monitor (with metrics.enabled)")
    namespace: str = param(
        "",
        "Namespace of the monitor, where Prometheus looks for monitors; empty means the release's",
        pattern=_NAMESPACE,
    )
    interval: str = param(
        default_of(ScrapeProps, "interval"),
        "Time between two scrapes (a Prometheus duration, e.g. 30s)",
        pattern=DURATION.pattern,
        minLength=1,
    )
    scrapeTimeout: str = param(
        default_of(ScrapeProps, "scrape_timeout"),
        "Time a scrape may take, at most interval; empty means Prometheus' global timeout",
        pattern=DURATION.pattern,
    )
    labels: dict[str, str] = param(
        default_of(ScrapeProps, "monitor_labels"),
        "Labels of the monitor, e.g. {release: prometheus} for the Prometheus' monitor selector",
    )


@dataclass
class PodMonitor(Monitor):
    enabled: bool = param(
        False,
        "Create a PodMonitor instead of the ServiceMonitor (with metrics.enabled; not both)",
    )


@dataclass
class ServiceMonitor(Monitor):
    enabled: bool = param(
        False,
        "Create a Prometheus Operator ServiceMonitor scraping both components' metrics "
        "Services, whatever frontend.service.type is (with metrics.enabled; needs the "
        "operator's CRDs)",
    )


@dataclass
class PrometheusRule:
    enabled: bool = param(
        False,
        "Create a PrometheusRule (with metrics.enabled): per component request rate, 5xx "
        "ratio, p50/p95/p99 latency and availability over 5m, 1h, 1d and 30d, and alerts on "
        "burning the availability budget, restarts and failed scrapes",
    )
    availabilityObjective: float = param(
        default_of(PrometheusRuleProps, "availability_objective"),
        "Share of requests answered without a 5xx over 30 days that the burn-rate alerts "
        "defend (SC-002's 99.9 %)",
        exclusiveMinimum=0,
        exclusiveMaximum=1,
    )
    labels: dict[str, str] = param(
        default_of(PrometheusRuleProps, "rule_labels"),
        "Labels of the PrometheusRule, e.g. {release: prometheus} for the Prometheus' rule "
        "selector",
    )


@dataclass
class Metrics:
    enabled: bool = param(
        False,
        "Create what Prometheus uses: each component's headless ClusterIP metrics Service "
        "(<fullname>-<component>-metrics, the metrics port only) and what is set below; false "
        "means none of it (each pod still serves /metrics on containerPorts.metrics)",
    )
    annotations: bool = param(
        False,
        "Annotate the pods with prometheus.io/scrape, prometheus.io/port and "
        "prometheus.io/path, for a Prometheus without the operator (with metrics.enabled)",
    )
    serviceMonitor: ServiceMonitor = section(ServiceMonitor, "Prometheus Operator ServiceMonitor")
    podMonitor: PodMonitor = section(PodMonitor, "Prometheus Operator PodMonitor")
    prometheusRule: PrometheusRule = section(PrometheusRule, "Prometheus Operator PrometheusRule")


@dataclass
class Migrations:
    enabled: bool = param(
        False,
        "Run a Job that migrates the database before each install and upgrade (a Helm "
        "hook): a failed migration fails helm install/upgrade, naming the Job, and leaves "
        "the running release as it was",
    )
    image: Image = section(
        lambda: Image(registry="", repository=""),
        "Image of the Job; an empty repository means the backend's image",
    )
    command: list[str] = param(
        list(default_of(MigrationProps, "command")),
        "Command that migrates, e.g. [alembic, upgrade, head]; empty keeps the image's",
    )
    args: list[str] = param(list(default_of(MigrationProps, "args")), "Arguments of the command")
    extraEnvVars: list[dict[str, Any]] = param(
        list(default_of(MigrationProps, "extra_env_vars")),
        "More variables of the Job (EnvVar objects); it gets DATABASE_URL (under "
        "backend.envNames) and no other secret",
        items={"type": "object", "required": ["name"]},
    )
    backoffLimit: int = param(
        default_of(MigrationProps, "backoff_limit"),
        "Retries of a failed migration before the Job fails",
        minimum=0,
    )
    activeDeadlineSeconds: int = param(
        default_of(MigrationProps, "active_deadline_seconds"),
        "Time the migration may take in all; keep it under helm's --timeout (5 min by "
        "default) so that a hung migration fails as the Job",
        minimum=1,
    )


@dataclass
class Global:
    imageRegistry: str = param(
        "", "Registry of every image, replacing each image.registry; empty keeps theirs"
    )


@dataclass
class Tests:
    image: Image = section(
        lambda: Image(registry="", repository=""),
        "Image of the helm test pod; an empty repository means the backend's image (which "
        "has Python); another image needs `wget` (e.g. busybox: set repository and tag)",
    )
    command: list[str] = param(
        [],
        "Command of the helm test pod, replacing the chart's check; it gets the frontend's "
        "and the backend's probe URLs as arguments",
    )


@dataclass
class Values:
    global_: Global = section(Global, "Settings shared with subcharts (Bitnami's names)")
    nameOverride: str = param("", "Replaces the chart name in object names")
    fullnameOverride: str = param("", "Replaces the whole <release>-<chart> object name prefix")
    commonLabels: dict[str, str] = param({}, "Labels added to every object (never to selectors)")
    commonAnnotations: dict[str, str] = param({}, "Annotations added to every object")
    secrets: Secrets = section(Secrets, "Secret values (never commit them; prefer existingSecret)")
    ai: Ai = section(Ai, "The AI assistant")
    config: Config = section(Config, "Non-secret configuration")
    backend: Backend = section(Backend, "The FastAPI backend (reachable inside the cluster only)")
    frontend: Frontend = section(Frontend, "The web frontend (exposed to users)")
    ingress: Ingress = section(Ingress, "Ingress for the frontend")
    httpRoute: HttpRoute = section(HttpRoute, "Gateway API HTTPRoute for the frontend")
    networkPolicy: NetworkPolicy = section(NetworkPolicy, "NetworkPolicies")
    migrations: Migrations = section(Migrations, "Database migrations as a Job")
    metrics: Metrics = section(Metrics, "Prometheus metrics")
    tests: Tests = section(Tests, "The helm test pod")
    extraDeploy: list[Any] = param(
        [],
        "More manifests to deploy with the release (objects or strings, rendered with tpl), "
        "e.g. a third small service",
    )


# ---- outputs ---------------------------------------------------------------


def key_of(declared: dataclasses.Field[Any]) -> str:
    """The values key of a field: its name, less the `_` that avoids a Python keyword."""
    return declared.name.removesuffix("_")


def as_dict(values: Any) -> dict[str, Any]:
    """The values as the YAML document they are written as."""
    return {
        key_of(f): as_dict(value) if dataclasses.is_dataclass(value) else value
        for f in dataclasses.fields(values)
        for value in [getattr(values, f.name)]
    }


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
        properties[key_of(f)] = schema
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
        path = f"{prefix}{key_of(f)}"
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
            path = f"{prefix}{key_of(f)}"
            if dataclasses.is_dataclass(value):
                if indent == 0:
                    lines.append("")
                lines.append(f"{pad}## @section {path}: {f.metadata['doc']}")
                lines.append(f"{pad}{key_of(f)}:")
                walk(value, path + ".", indent + 2)
                continue
            lines.append(f"{pad}## @param {path} {f.metadata['doc']}")
            if isinstance(value, dict | list) and value:
                block = yaml.safe_dump(
                    {key_of(f): value}, default_flow_style=False, sort_keys=False
                )
                lines.extend(pad + line for line in block.rstrip().splitlines())
            else:
                lines.append(f"{pad}{key_of(f)}: {plain_scalar(value)}")

    walk(values, "", 0)
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n"


def parameters_table(values: Values) -> str:
    """The chart README's parameter table (Markdown)."""
    rows = ["| Parameter | Description | Default |", "| --- | --- | --- |"]
    for path, doc, default, is_section in _leaves(values):
        if not is_section:
            rows.append(f"| `{path}` | {doc} | `{json.dumps(default)}` |")
    return "\n".join(rows) + "\n"
