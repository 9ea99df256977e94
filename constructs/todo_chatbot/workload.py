"""A stateless HTTP service: what the backend and the frontend share.

Deployment + Service + ServiceAccount + ConfigMap, with optional
HorizontalPodAutoscaler and PodDisruptionBudget, secured and probed the same
way for both components.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cdk8s_plus_28 as kplus
from cdk8s import ApiObject, ApiObjectMetadata, Duration, JsonPatch, Size

import todo_chatbot.k8s as k8s
from constructs import Construct

from . import choices
from .labels import Labels
from .secret import Secrets

APP_USER = 10001
"""Numeric user and group of the images (docs/contract.md)."""
LIVENESS_KILL_GRACE_SECONDS = 2
"""Grace of a container the liveness probe kills (the kubelet's minimum); SIGKILL follows."""
SERVICE_TYPES = dict(
    zip(
        choices.SERVICE_TYPES,
        (
            kplus.ServiceType.CLUSTER_IP,
            kplus.ServiceType.NODE_PORT,
            kplus.ServiceType.LOAD_BALANCER,
        ),
        strict=True,
    )
)
METRICS_PORT = 9090
"""Port of the images' `GET /metrics`, apart from the app port (docs/contract.md)."""
METRICS_PORT_NAME = "metrics"
"""Name of the metrics port of the containers and metrics Services, which the monitors scrape."""
INSTANCE_NAME = "INSTANCE_NAME"
"""Variable holding the pod's name (downward API), set in every component."""
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""What a variable name must look like (the shells' rule, which images rely on)."""
WRITABLE_VOLUME = "writable-{index}"
"""Name of the emptyDir volume of the `index`-th writable path."""
PULL_POLICIES = dict(
    zip(
        choices.PULL_POLICIES,
        (
            kplus.ImagePullPolicy.ALWAYS,
            kplus.ImagePullPolicy.IF_NOT_PRESENT,
            kplus.ImagePullPolicy.NEVER,
        ),
        strict=True,
    )
)


RESTRICTED_POD = kplus.PodSecurityContextProps(
    ensure_non_root=True, user=APP_USER, group=APP_USER, fs_group=APP_USER
)
"""The pods' security settings before an operator's `pod_security_context`."""
RESTRICTED_CONTAINER = kplus.ContainerSecurityContextProps(
    ensure_non_root=True,
    user=APP_USER,
    group=APP_USER,
    privileged=False,
    read_only_root_filesystem=True,
    allow_privilege_escalation=False,
    capabilities=kplus.ContainerSecutiryContextCapabilities(drop=[kplus.Capability.ALL]),
    seccomp_profile=kplus.SeccompProfile(type=kplus.SeccompProfileType.RUNTIME_DEFAULT),
)
"""The containers' security settings before an operator's `container_security_context`."""


@dataclass(frozen=True, kw_only=True)
class AutoscalingProps:
    """A CPU-based HorizontalPodAutoscaler (autoscaling/v2)."""

    min_replicas: int = 1
    """Fewest replicas; default: 1."""
    max_replicas: int = 5
    """Most replicas; default: 5."""
    target_cpu_percent: int = 70
    """Average CPU utilisation (percent of requests) to aim for; default: 70."""
    scale_down_stabilization_seconds: int = 300
    """How long the load must stay low before replicas are removed; default: 300 s."""


@dataclass(frozen=True, kw_only=True)
class ProbeProps:
    """One HTTP health probe on the container port."""

    path: str
    """Path the kubelet GETs; any 2xx or 3xx passes."""
    period_seconds: int
    """Seconds between two probes."""
    failure_threshold: int
    """Failures in a row before the kubelet acts."""
    timeout_seconds: int = 2
    """Seconds a probe may take before it counts as failed; default: 2 s."""

    def validate(self, name: str) -> None:
        """Fail early, showing the bad value; `name` is the prop holding this probe."""
        if not self.path.startswith("/"):
            raise ValueError(f"'{name}.path' must start with '/', got '{self.path}'")
        for field_name in ("period_seconds", "failure_threshold", "timeout_seconds"):
            if getattr(self, field_name) < 1:
                raise ValueError(
                    f"'{name}.{field_name}' must be >= 1, got {getattr(self, field_name)}"
                )


def chart_value(default: Any, doc: str, *, at: str | None = None, **schema: Any) -> Any:
    """A prop that is also the chart value `<component>.<camelCase of the prop's name>`.

    `doc` (which says the default) and `schema` (JSON schema keywords) document and check
    the value (see `values.py`). `at` is where the value lands in the pod template, a JSON
    pointer below `spec.template`: a trailing `/-` appends the items, a map at an existing
    map is merged into it, anything else is set (replacing what the construct put there).
    With `at`, the construct and the chart (helm.py) both apply it from this one
    declaration; without, both wire it by hand.
    """
    metadata = {"chart": {"doc": doc, "schema": schema, "at": at}}
    if isinstance(default, dict | list):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def kubernetes_objects(doc: str, *, at: str, required: tuple[str, ...]) -> Any:
    """A `chart_value` listing Kubernetes objects with the `required` fields; empty by default."""
    return chart_value((), doc, at=at, items={"type": "object", "required": list(required)})


def chart_values(props: type) -> list[Any]:
    """The dataclass fields of `props` declared with `chart_value`, in order."""
    return [f for f in dataclasses.fields(props) if "chart" in f.metadata]


def add_ephemeral_storage(workload: ApiObject, props: WorkloadProps) -> None:
    """Give the first container of `workload`'s pod template the props' ephemeral storage.

    Escape hatch: cdk8s-plus writes ephemeral storage in whole gibibytes only. The
    bindings serialize a Quantity from its `value` after the patches are applied, so the
    patch writes one in that shape.
    """
    for kind in ("request", "limit"):
        mebibytes = getattr(props, f"ephemeral_storage_{kind}_mebibytes")
        workload.add_json_patch(
            JsonPatch.add(
                f"/spec/template/spec/containers/0/resources/{kind}s/ephemeral-storage",
                {"value": f"{mebibytes}Mi"},
            )
        )


def camel_case(name: str) -> str:
    """The chart's name of a prop: `extra_env_vars_cm` -> `extraEnvVarsCM` (Bitnami's)."""
    first, *rest = name.split("_")
    return first + "".join("CM" if part == "cm" else part.title() for part in rest)


Json = dict[str, Any]
"""A Kubernetes object or part of one, as its JSON (camelCase keys)."""


@dataclass(frozen=True, kw_only=True)
class WorkloadProps:
    """Settings every component accepts; defaults are production-safe."""

    image: str
    """Container image reference; required."""
    labels: Labels = Labels()
    """Standard labels; default: instance "todo-chatbot"."""
    name: str | None = None
    """Object name; default: "<labels.instance>-<component>"."""
    replicas: int = 1
    """Pods when autoscaling is off; default: one pod."""
    image_pull_policy: str = "Always"
    """Image pull policy; default: ask the registry at every container start, so the pod's
    pull secrets are checked even when the node has the image (a cached private image is
    not free to any pod of the node); only layers the node lacks are downloaded."""
    image_pull_secrets: tuple[str, ...] = ()
    """docker-registry Secrets for private images; default: none."""
    service_type: str = "ClusterIP"
    """Service type; default: reachable inside the cluster only."""
    service_port: int | None = None
    """Service port; default: the container port."""
    liveness: ProbeProps | None = ProbeProps(path="/healthz", period_seconds=5, failure_threshold=3)
    """Restarts a hung container (None: no liveness probe); default: /healthz, 3 failures
    5 s apart, so a hang is detected 12-17 s after it starts. Faster means more false
    restarts under load."""
    readiness: ProbeProps | None = ProbeProps(path="/readyz", period_seconds=3, failure_threshold=2)
    """Takes the pod out of the Service while failing (None: none); default: /readyz,
    2 failures 3 s apart."""
    startup: ProbeProps | None = ProbeProps(path="/healthz", period_seconds=2, failure_threshold=30)
    """Holds the other two probes until the app serves (None: none); default: /healthz,
    up to 60 s."""
    cpu_request_millis: int = 100
    """CPU the scheduler reserves; default: 100m."""
    cpu_limit_millis: int = 1000
    """CPU ceiling; default: 1 core."""
    memory_request_mebibytes: int = 128
    """Memory the scheduler reserves; default: 128Mi."""
    memory_limit_mebibytes: int = 256
    """Memory ceiling (OOM-killed above); default: 256Mi."""
    ephemeral_storage_request_mebibytes: int = 64
    """Node disk the scheduler reserves for the container's logs and emptyDirs; default: 64Mi.
    The images write to no path but /tmp (an emptyDir of at most 64Mi) and log to stdout."""
    ephemeral_storage_limit_mebibytes: int = 256
    """Node disk above which the pod is evicted; default: 256Mi: /tmp's 64Mi, the kubelet's
    default log rotation (5 files of 10Mi) and room for `writable_paths` caches."""
    termination_grace_seconds: int = 30
    """Time to drain in-flight requests after SIGTERM; default: 30 s."""
    pre_stop_sleep_seconds: int = 5
    """Delay before SIGTERM so endpoints stop routing first; default: 5 s."""
    autoscaling: AutoscalingProps | None = None
    """HorizontalPodAutoscaler; default: none, `replicas` pods."""
    max_unavailable: int | None = 1
    """PodDisruptionBudget's maxUnavailable; None and no `min_available`: no budget.
    Default: 1."""
    min_available: int | None = None
    """PodDisruptionBudget's minAvailable, replacing `max_unavailable` when set; default: none."""
    pod_annotations: dict[str, str] = field(default_factory=dict)
    """Extra pod annotations; default: none."""
    service_account_annotations: dict[str, str] = field(default_factory=dict)
    """Annotations of the ServiceAccount, e.g. a cloud workload identity; default: none."""
    container_port: int | None = None
    """Port the image listens on: the container port, the Service's targetPort, the probes'
    and NetworkPolicies' port; default: the image contract's (8000 backend, 3000 frontend)."""
    metrics_port: int = METRICS_PORT
    """Port of the image's `/metrics`, apart from `container_port` so that no route to the
    app reaches it: a container port and the port of the metrics Service, both named
    "metrics"; the app's Service never carries it (a NodePort or LoadBalancer one would open
    it on the nodes); default: 9090."""

    # Bring-your-own-image knobs: each is also a chart value (see `chart_value`).
    command: tuple[str, ...] = chart_value(
        (),
        "Command of the container, replacing the image's entrypoint; empty keeps the image's",
        at="/spec/containers/0/command",
    )
    args: tuple[str, ...] = chart_value(
        (),
        "Arguments of the container, replacing the image's cmd; empty keeps the image's",
        at="/spec/containers/0/args",
    )
    extra_env_vars: tuple[Json, ...] = kubernetes_objects(
        "More variables (Kubernetes EnvVar objects: name with value or valueFrom), each name "
        "once and none the chart sets (free one with envNames); default: none",
        at="/spec/containers/0/env/-",
        required=("name",),
    )
    extra_env_vars_cm: str = chart_value(
        "", "ConfigMap whose entries all become variables (envFrom); empty means none"
    )
    extra_env_vars_secret: str = chart_value(
        "",
        "Secret, created out of band, whose entries all become variables (envFrom); "
        "empty means none",
    )
    env_names: dict[str, str] = chart_value(
        {},
        "Names the image reads for variables the chart sets, e.g. "
        "{BETTER_AUTH_SECRET: JWT_SECRET, AI_PROVIDER: LLM_PROVIDER}; default: the contract's",
        additionalProperties={"type": "string", "pattern": ENV_NAME.pattern},
    )
    extra_secret_keys: tuple[str, ...] = chart_value(
        (),
        "Keys of the release's Secret (managed or existing) this component gets as "
        "variables of the same name, and no other component does; default: none",
        items={"type": "string", "pattern": ENV_NAME.pattern},
    )
    writable_paths: tuple[str, ...] = chart_value(
        (),
        "Writable paths besides /tmp (the root filesystem stays read-only), each an "
        "emptyDir, e.g. /app/.next/cache; default: none",
        items={"type": "string", "pattern": "^/."},
    )
    extra_volumes: tuple[Json, ...] = kubernetes_objects(
        "More pod volumes (Kubernetes Volume objects); default: none",
        at="/spec/volumes/-",
        required=("name",),
    )
    extra_volume_mounts: tuple[Json, ...] = kubernetes_objects(
        "More mounts of the container (Kubernetes VolumeMount objects); default: none",
        at="/spec/containers/0/volumeMounts/-",
        required=("name", "mountPath"),
    )
    pod_security_context: Json = chart_value(
        {},
        "Merged over the pod's securityContext (runAsNonRoot, uid/gid 10001, fsGroup), "
        "e.g. {runAsUser: 1001}; NOTES says what a value turns off; default: no change",
    )
    container_security_context: Json = chart_value(
        {},
        "Merged over the container's securityContext (read-only root filesystem, no "
        "privilege escalation, no capabilities, seccomp RuntimeDefault, uid/gid 10001); "
        "NOTES says what a value turns off; default: no change",
    )
    init_containers: tuple[Json, ...] = kubernetes_objects(
        "Init containers of the pod (Kubernetes Container objects); default: none",
        at="/spec/initContainers",
        required=("name", "image"),
    )
    sidecars: tuple[Json, ...] = kubernetes_objects(
        "More containers of the pod (Kubernetes Container objects); default: none",
        at="/spec/containers/-",
        required=("name", "image"),
    )
    pod_labels: dict[str, str] = chart_value(
        {}, "More labels on the pods (never in selectors); default: none", at="/metadata/labels"
    )
    priority_class_name: str = chart_value(
        "",
        "PriorityClass of the pods; empty means the cluster's default",
        at="/spec/priorityClassName",
    )
    topology_spread_constraints: tuple[Json, ...] = kubernetes_objects(
        "Topology spread constraints, replacing the default soft spread over nodes and zones "
        "(chart README: why, and the hard variant)",
        at="/spec/topologySpreadConstraints",
        required=("maxSkew", "topologyKey", "whenUnsatisfiable"),
    )

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        if self.replicas < 0:
            raise ValueError(f"'replicas' must be >= 0, got {self.replicas}")
        if self.service_type not in SERVICE_TYPES:
            raise ValueError(
                f"'service_type' must be one of {list(SERVICE_TYPES)}, got '{self.service_type}'"
            )
        if self.image_pull_policy not in PULL_POLICIES:
            raise ValueError(
                f"'image_pull_policy' must be one of {list(PULL_POLICIES)}, "
                f"got '{self.image_pull_policy}'"
            )
        for name in ("liveness", "readiness", "startup"):
            if getattr(self, name) is not None:
                getattr(self, name).validate(name)
        if self.container_port is not None and not 1 <= self.container_port <= 65535:
            raise ValueError(f"'container_port' must be a port, got {self.container_port}")
        if not 1 <= self.metrics_port <= 65535:
            raise ValueError(f"'metrics_port' must be a port, got {self.metrics_port}")
        for path in self.writable_paths:
            if not path.startswith("/") or path == "/":
                raise ValueError(f"'writable_paths' must hold absolute paths, got '{path}'")
        # Keys only: an item may hold a secret value.
        required = {"extra_env_vars": {"name"}, "extra_volumes": {"name"}}
        required |= {"extra_volume_mounts": {"name", "mountPath"}}
        required |= {"init_containers": {"name", "image"}, "sidecars": {"name", "image"}}
        for name, keys in required.items():
            for index, item in enumerate(getattr(self, name)):
                if not keys <= item.keys():
                    raise ValueError(
                        f"'{name}[{index}]' needs {sorted(keys)}, got keys {sorted(item)}"
                    )
        for name, value in self.env_names.items():
            if not ENV_NAME.match(value):
                raise ValueError(f"'env_names.{name}' must be a variable name, got '{value}'")
        for key in self.extra_secret_keys:
            if not ENV_NAME.match(key):
                raise ValueError(f"'extra_secret_keys' must hold variable names, got '{key}'")
        if self.cpu_request_millis > self.cpu_limit_millis:
            raise ValueError(
                f"'cpu_request_millis' ({self.cpu_request_millis}) exceeds "
                f"'cpu_limit_millis' ({self.cpu_limit_millis})"
            )
        if self.ephemeral_storage_request_mebibytes > self.ephemeral_storage_limit_mebibytes:
            raise ValueError(
                "'ephemeral_storage_request_mebibytes' "
                f"({self.ephemeral_storage_request_mebibytes}) exceeds "
                f"'ephemeral_storage_limit_mebibytes' ({self.ephemeral_storage_limit_mebibytes})"
            )
        if self.memory_request_mebibytes > self.memory_limit_mebibytes:
            raise ValueError(
                f"'memory_request_mebibytes' ({self.memory_request_mebibytes}) "
                f"exceeds 'memory_limit_mebibytes' ({self.memory_limit_mebibytes})"
            )
        if self.pre_stop_sleep_seconds >= self.termination_grace_seconds:
            raise ValueError(
                f"'pre_stop_sleep_seconds' ({self.pre_stop_sleep_seconds}) must be "
                f"below 'termination_grace_seconds' "
                f"({self.termination_grace_seconds})"
            )
        for name in ("max_unavailable", "min_available"):
            if (getattr(self, name) or 0) < 0:
                raise ValueError(f"'{name}' must be >= 0, got {getattr(self, name)}")
        scaling = self.autoscaling
        if scaling is not None and not 1 <= scaling.min_replicas <= scaling.max_replicas:
            raise ValueError(
                f"autoscaling needs 1 <= min_replicas <= max_replicas, got "
                f"{scaling.min_replicas}..{scaling.max_replicas}"
            )
        if scaling is not None and not 0 <= scaling.scale_down_stabilization_seconds <= 3600:
            raise ValueError(
                f"'scale_down_stabilization_seconds' must be 0..3600, got "
                f"{scaling.scale_down_stabilization_seconds}"
            )


def metrics_component(component: str) -> str:
    """Component label of `component`'s metrics Service (`backend` -> `backend-metrics`); the
    same suffix turns the app Service's name into the metrics Service's.

    A label only the metrics Services carry, so the ServiceMonitor selects them and never the
    app's Services.
    """
    return f"{component}-metrics"


class Workload(Construct):
    """One component: its pods, their Services, identity, config and scaling.

    Children (stable ids): `Resource` (Deployment), `Service` (the app's port only),
    `MetricsService` (the metrics port only, "<name>-metrics"), `ServiceAccount`,
    `Config` (ConfigMap), and when enabled `Autoscaler`, `DisruptionBudget`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        component: str,
        port: int,
        variables: tuple[str, ...],
        props: WorkloadProps,
        config: dict[str, str],
        secrets: Secrets,
        secret_keys: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        port = props.container_port or port
        if props.metrics_port == port:
            raise ValueError(f"'metrics_port' must differ from the {component}'s port, got {port}")
        self.component = component
        self.port = port
        self.metrics_port = props.metrics_port
        self.labels = labels = props.labels.of(component)
        self.selector_labels = props.labels.selector(component)
        name = props.name or f"{props.labels.instance}-{component}"
        env = {
            **{variable: secrets.env_value(key) for variable, key in secret_keys.items()},
            **{key: secrets.env_value(key) for key in props.extra_secret_keys},
            INSTANCE_NAME: kplus.EnvValue.from_field_ref(kplus.EnvFieldPaths.POD_NAME),
        }
        config, env = _renamed(props.env_names, variables, config, env)
        chart_set = [props.env_names.get(key, key) for key in variables]
        for key in props.extra_secret_keys:
            if key in chart_set:
                raise ValueError(
                    f"'extra_secret_keys' names {key}, a variable the chart sets already; "
                    "rename the chart's with 'env_names'"
                )
        check_unique_env("extra_env_vars", [*chart_set, *props.extra_secret_keys], props)

        def metadata() -> ApiObjectMetadata:
            return ApiObjectMetadata(name=name, labels=labels)

        self.service_account = kplus.ServiceAccount(
            self,
            "ServiceAccount",
            metadata=ApiObjectMetadata(
                name=name, labels=labels, annotations=dict(props.service_account_annotations)
            ),
            automount_token=False,
        )
        self.config = kplus.ConfigMap(self, "Config", metadata=metadata(), data=config)

        tmp = kplus.Volume.from_empty_dir(self, "Tmp", "tmp", size_limit=Size.mebibytes(64))
        writable = [
            kplus.Volume.from_empty_dir(
                self, f"Writable{index}", WRITABLE_VOLUME.format(index=index)
            )
            for index in range(len(props.writable_paths))
        ]
        self.deployment = kplus.Deployment(
            self,
            "Resource",
            metadata=metadata(),
            replicas=None if props.autoscaling else props.replicas,
            select=False,
            pod_metadata=ApiObjectMetadata(labels=labels, annotations=dict(props.pod_annotations)),
            service_account=self.service_account,
            automount_service_account_token=False,
            termination_grace_period=Duration.seconds(props.termination_grace_seconds),
            strategy=kplus.DeploymentStrategy.rolling_update(
                max_surge=kplus.PercentOrAbsolute.absolute(1),
                max_unavailable=kplus.PercentOrAbsolute.absolute(0),
            ),
            security_context=RESTRICTED_POD,
            volumes=[tmp, *writable],
        )
        self.deployment.select(kplus.LabelSelector.of(labels=self.selector_labels))
        env_from = [kplus.Env.from_config_map(self.config)]
        if props.extra_env_vars_cm:
            env_from.append(
                kplus.Env.from_config_map(
                    kplus.ConfigMap.from_config_map_name(
                        self, "ExtraEnvVarsCM", props.extra_env_vars_cm
                    )
                )
            )
        if props.extra_env_vars_secret:
            env_from.append(
                kplus.Env.from_secret(
                    kplus.Secret.from_secret_name(
                        self, "ExtraEnvVarsSecret", props.extra_env_vars_secret
                    )
                )
            )
        self.deployment.add_container(
            name=component,
            image=props.image,
            image_pull_policy=PULL_POLICIES[props.image_pull_policy],
            port_number=port,
            ports=[kplus.ContainerPort(number=props.metrics_port, name=METRICS_PORT_NAME)],
            env_from=env_from,
            env_variables=env,
            startup=_probe(props.startup, port),
            liveness=_probe(props.liveness, port),
            readiness=_probe(props.readiness, port),
            lifecycle=kplus.ContainerLifecycle(
                pre_stop=kplus.Handler.from_command(["sleep", str(props.pre_stop_sleep_seconds)])
            ),
            resources=kplus.ContainerResources(
                cpu=kplus.CpuResources(
                    request=kplus.Cpu.millis(props.cpu_request_millis),
                    limit=kplus.Cpu.millis(props.cpu_limit_millis),
                ),
                memory=kplus.MemoryResources(
                    request=Size.mebibytes(props.memory_request_mebibytes),
                    limit=Size.mebibytes(props.memory_limit_mebibytes),
                ),
            ),
            security_context=RESTRICTED_CONTAINER,
            volume_mounts=[
                kplus.VolumeMount(path="/tmp", volume=tmp),
                *(
                    kplus.VolumeMount(path=path, volume=volume)
                    for path, volume in zip(props.writable_paths, writable, strict=True)
                ),
            ],
        )
        deployment = ApiObject.of(self.deployment)
        # Escape hatch: cdk8s-plus spreads with pod anti-affinity, which leaves extra replicas
        # Pending on a single node. Soft topology spread over nodes and over zones instead,
        # chosen from measurements on the local cluster's three nodes (chart README, "Spread
        # over nodes and zones"): soft placed one replica per node like a hard spread, and
        # kept every replica running where a hard one left one Pending (a full node).
        deployment.add_json_patch(
            JsonPatch.add(
                "/spec/template/spec/topologySpreadConstraints",
                [
                    {
                        "maxSkew": 1,
                        "topologyKey": topology_key,
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": self.selector_labels},
                    }
                    for topology_key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
                ],
            )
        )
        add_ephemeral_storage(deployment, props)
        if props.liveness is not None:
            # Escape hatch: cdk8s-plus has no probe-level grace period. A pod the liveness
            # probe kills is hung, so it cannot drain (a stopped process never handles
            # SIGTERM): waiting the pod's termination grace would only delay the restart by
            # up to 30 s.
            deployment.add_json_patch(
                JsonPatch.add(
                    "/spec/template/spec/containers/0/livenessProbe/terminationGracePeriodSeconds",
                    LIVENESS_KILL_GRACE_SECONDS,
                )
            )
        if props.startup is None:
            # Escape hatch: cdk8s-plus adds a TCP startup probe to a container without one.
            deployment.add_json_patch(
                JsonPatch.remove("/spec/template/spec/containers/0/startupProbe")
            )
        if props.image_pull_secrets:
            deployment.add_json_patch(
                JsonPatch.add(
                    "/spec/template/spec/imagePullSecrets",
                    [{"name": secret} for secret in props.image_pull_secrets],
                )
            )
        self.props = props
        merge_security_contexts(deployment, props)
        # Escape hatch: cdk8s-plus takes no Kubernetes-shaped objects (EnvVar, Volume,
        # Container) as they are.
        for prop in chart_values(WorkloadProps):
            value = getattr(props, prop.name)
            at = prop.metadata["chart"]["at"]
            if not value or at is None:
                continue
            if at.endswith("/-"):
                for item in value:
                    deployment.add_json_patch(JsonPatch.add(f"/spec/template{at}", item))
            elif isinstance(value, dict):
                for key, item in value.items():
                    deployment.add_json_patch(
                        JsonPatch.add(f"/spec/template{at}/{_escaped(key)}", item)
                    )
            else:
                deployment.add_json_patch(
                    JsonPatch.add(
                        f"/spec/template{at}", list(value) if isinstance(value, tuple) else value
                    )
                )

        self.service = kplus.Service(
            self,
            "Service",
            metadata=metadata(),
            type=SERVICE_TYPES[props.service_type],
            ports=[
                kplus.ServicePort(name="http", port=props.service_port or port, target_port=port)
            ],
        )
        # Apart from the app's Service, so that its type (a NodePort or LoadBalancer gives every
        # port a node port) never opens the metrics port on the nodes. Headless: Prometheus
        # scrapes each pod's endpoint by itself, and a virtual IP would only hand a request to
        # any one pod, whose counters say nothing of the others.
        self.metrics_service = kplus.Service(
            self,
            "MetricsService",
            metadata=ApiObjectMetadata(
                name=metrics_component(name), labels=props.labels.of(metrics_component(component))
            ),
            type=kplus.ServiceType.CLUSTER_IP,
            cluster_ip="None",
            ports=[
                kplus.ServicePort(
                    name=METRICS_PORT_NAME, port=props.metrics_port, target_port=props.metrics_port
                )
            ],
        )
        for service in (self.service, self.metrics_service):
            for key, value in self.selector_labels.items():
                service.select_label(key, value)

        if props.autoscaling is not None:
            kplus.HorizontalPodAutoscaler(
                self,
                "Autoscaler",
                metadata=metadata(),
                target=self.deployment,
                min_replicas=props.autoscaling.min_replicas,
                max_replicas=props.autoscaling.max_replicas,
                metrics=[
                    kplus.Metric.resource_cpu(
                        kplus.MetricTarget.average_utilization(props.autoscaling.target_cpu_percent)
                    )
                ],
                scale_down=kplus.ScalingRules(
                    stabilization_window=Duration.seconds(
                        props.autoscaling.scale_down_stabilization_seconds
                    )
                ),
            )
        if props.min_available is not None or props.max_unavailable is not None:
            # Escape hatch: cdk8s-plus has no PodDisruptionBudget class.
            selector = k8s.LabelSelector(match_labels=self.selector_labels)
            if props.min_available is not None:
                spec = k8s.PodDisruptionBudgetSpec(
                    min_available=k8s.IntOrString.from_number(props.min_available),
                    selector=selector,
                )
            else:
                spec = k8s.PodDisruptionBudgetSpec(
                    max_unavailable=k8s.IntOrString.from_number(props.max_unavailable),
                    selector=selector,
                )
            k8s.KubePodDisruptionBudget(
                self,
                "DisruptionBudget",
                metadata=k8s.ObjectMeta(name=name, labels=labels),
                spec=spec,
            )

    @property
    def name(self) -> str:
        """Name of the Deployment, Service, ServiceAccount and ConfigMap."""
        return self.deployment.name

    @property
    def service_url(self) -> str:
        """In-cluster URL of the Service."""
        return f"http://{self.service.name}:{self.service.port}"


def _probe(probe: ProbeProps | None, port: int) -> kplus.Probe | None:
    if probe is None:
        return None
    return kplus.Probe.from_http_get(
        probe.path,
        port=port,
        period_seconds=Duration.seconds(probe.period_seconds),
        failure_threshold=probe.failure_threshold,
        timeout_seconds=Duration.seconds(probe.timeout_seconds),
    )


def merge_security_contexts(resource: ApiObject, props: WorkloadProps) -> None:
    """Merge the operator's security settings over the restricted ones of a pod template."""
    # Escape hatch: cdk8s-plus has no merge of raw security settings.
    for pointer, overrides in (
        ("/spec/template/spec/securityContext", props.pod_security_context),
        ("/spec/template/spec/containers/0/securityContext", props.container_security_context),
    ):
        for key, value in overrides.items():
            resource.add_json_patch(JsonPatch.add(f"{pointer}/{_escaped(key)}", value))


def _escaped(key: str) -> str:
    """`key` as one JSON pointer token (label keys hold slashes)."""
    return key.replace("~", "~0").replace("/", "~1")


def check_unique_env(prop: str, taken: list[str], props: Any) -> None:
    """Fail when an EnvVar of `props.<prop>` reuses a name of `taken` or of an earlier one.

    Kubernetes keeps one of two variables of one name silently, and Helm 4's server-side
    apply refuses the object: the chart's `todo-chatbot.uniqueEnv` check is the same.
    """
    seen: list[str] = []
    for index, item in enumerate(getattr(props, prop)):
        name = item["name"]
        if name in taken:
            raise ValueError(
                f"'{prop}[{index}]' sets {name}, which the chart sets already; "
                "rename the chart's variable with 'env_names'"
            )
        if name in seen:
            raise ValueError(f"'{prop}[{index}]' sets {name}, as an earlier entry does")
        seen.append(name)


def _renamed(
    names: dict[str, str],
    variables: tuple[str, ...],
    config: dict[str, str],
    env: dict[str, kplus.EnvValue],
) -> tuple[dict[str, str], dict[str, kplus.EnvValue]]:
    """`config` and `env` with the variables in `names` renamed; fails for unknown ones."""
    unknown = names.keys() - set(variables)
    if unknown:
        raise ValueError(
            f"'env_names' renames only variables the chart sets, got {sorted(unknown)}; "
            f"it sets {sorted(variables)}"
        )
    # Checked over every variable the chart may set, as the chart's own check does.
    final = [names.get(key, key) for key in variables]
    clashes = sorted({key for key in final if final.count(key) > 1})
    if clashes:
        raise ValueError(f"'env_names' gives two variables the name {clashes}")
    return (
        {names.get(key, key): value for key, value in config.items()},
        {names.get(key, key): value for key, value in env.items()},
    )
