"""A stateless HTTP service: what the backend and the frontend share.

Deployment + Service + ServiceAccount + ConfigMap, with optional
HorizontalPodAutoscaler and PodDisruptionBudget, secured and probed the same
way for both components.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cdk8s_plus_28 as kplus
from cdk8s import ApiObject, ApiObjectMetadata, Duration, JsonPatch, Size

import todo_chatbot.k8s as k8s
from constructs import Construct

from .labels import Labels

APP_USER = 10001
"""Numeric user and group of the images (docs/contract.md)."""
LIVENESS_KILL_GRACE_SECONDS = 2
"""Grace of a container the liveness probe kills (the kubelet's minimum); SIGKILL follows."""
SERVICE_TYPES = {
    "ClusterIP": kplus.ServiceType.CLUSTER_IP,
    "NodePort": kplus.ServiceType.NODE_PORT,
    "LoadBalancer": kplus.ServiceType.LOAD_BALANCER,
}
PULL_POLICIES = {
    "Always": kplus.ImagePullPolicy.ALWAYS,
    "IfNotPresent": kplus.ImagePullPolicy.IF_NOT_PRESENT,
    "Never": kplus.ImagePullPolicy.NEVER,
}


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
    image_pull_policy: str = "IfNotPresent"
    """Image pull policy; default: pull only images the node lacks."""
    image_pull_secrets: tuple[str, ...] = ()
    """docker-registry Secrets for private images; default: none."""
    service_type: str = "ClusterIP"
    """Service type; default: reachable inside the cluster only."""
    service_port: int | None = None
    """Service port; default: the container port."""
    liveness: ProbeProps = ProbeProps(path="/healthz", period_seconds=5, failure_threshold=3)
    """Restarts a hung container; default: /healthz, 3 failures 5 s apart, so a hang is
    detected 12-17 s after it starts. Faster means more false restarts under load."""
    readiness: ProbeProps = ProbeProps(path="/readyz", period_seconds=3, failure_threshold=2)
    """Takes the pod out of the Service while failing; default: /readyz, 2 failures 3 s apart."""
    startup: ProbeProps = ProbeProps(path="/healthz", period_seconds=2, failure_threshold=30)
    """Holds the other two probes until the app serves; default: /healthz, up to 60 s."""
    cpu_request_millis: int = 100
    """CPU the scheduler reserves; default: 100m."""
    cpu_limit_millis: int = 1000
    """CPU ceiling; default: 1 core."""
    memory_request_mebibytes: int = 128
    """Memory the scheduler reserves; default: 128Mi."""
    memory_limit_mebibytes: int = 256
    """Memory ceiling (OOM-killed above); default: 256Mi."""
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
            getattr(self, name).validate(name)
        if self.cpu_request_millis > self.cpu_limit_millis:
            raise ValueError(
                f"'cpu_request_millis' ({self.cpu_request_millis}) exceeds "
                f"'cpu_limit_millis' ({self.cpu_limit_millis})"
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


class Workload(Construct):
    """One component: its pods, their Service, identity, config and scaling.

    Children (stable ids): `Resource` (Deployment), `Service`, `ServiceAccount`,
    `Config` (ConfigMap), and when enabled `Autoscaler`, `DisruptionBudget`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        component: str,
        port: int,
        props: WorkloadProps,
        config: dict[str, str],
        secret_env: dict[str, kplus.EnvValue],
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        self.component = component
        self.port = port
        self.labels = labels = props.labels.of(component)
        self.selector_labels = props.labels.selector(component)
        name = props.name or f"{props.labels.instance}-{component}"

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
            security_context=kplus.PodSecurityContextProps(
                ensure_non_root=True, user=APP_USER, group=APP_USER, fs_group=APP_USER
            ),
            volumes=[tmp],
        )
        self.deployment.select(kplus.LabelSelector.of(labels=self.selector_labels))
        self.deployment.add_container(
            name=component,
            image=props.image,
            image_pull_policy=PULL_POLICIES[props.image_pull_policy],
            port_number=port,
            env_from=[kplus.Env.from_config_map(self.config)],
            env_variables={
                **secret_env,
                "INSTANCE_NAME": kplus.EnvValue.from_field_ref(kplus.EnvFieldPaths.POD_NAME),
            },
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
            security_context=kplus.ContainerSecurityContextProps(
                ensure_non_root=True,
                user=APP_USER,
                group=APP_USER,
                privileged=False,
                read_only_root_filesystem=True,
                allow_privilege_escalation=False,
                capabilities=kplus.ContainerSecutiryContextCapabilities(
                    drop=[kplus.Capability.ALL]
                ),
                seccomp_profile=kplus.SeccompProfile(type=kplus.SeccompProfileType.RUNTIME_DEFAULT),
            ),
            volume_mounts=[kplus.VolumeMount(path="/tmp", volume=tmp)],
        )
        deployment = ApiObject.of(self.deployment)
        # Escape hatch: cdk8s-plus spreads with pod anti-affinity, which leaves
        # extra replicas Pending on a single node; a soft topology spread
        # constraint spreads when it can and still schedules when it cannot.
        deployment.add_json_patch(
            JsonPatch.add(
                "/spec/template/spec/topologySpreadConstraints",
                [
                    {
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": self.selector_labels},
                    }
                ],
            )
        )
        # Escape hatch: cdk8s-plus has no probe-level grace period. A pod the liveness probe
        # kills is hung, so it cannot drain (a stopped process never handles SIGTERM): waiting
        # the pod's termination grace would only delay the restart by up to 30 s.
        deployment.add_json_patch(
            JsonPatch.add(
                "/spec/template/spec/containers/0/livenessProbe/terminationGracePeriodSeconds",
                LIVENESS_KILL_GRACE_SECONDS,
            )
        )
        if props.image_pull_secrets:
            deployment.add_json_patch(
                JsonPatch.add(
                    "/spec/template/spec/imagePullSecrets",
                    [{"name": secret} for secret in props.image_pull_secrets],
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
        for key, value in self.selector_labels.items():
            self.service.select_label(key, value)

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


def _probe(probe: ProbeProps, port: int) -> kplus.Probe:
    return kplus.Probe.from_http_get(
        probe.path,
        port=port,
        period_seconds=Duration.seconds(probe.period_seconds),
        failure_threshold=probe.failure_threshold,
        timeout_seconds=Duration.seconds(probe.timeout_seconds),
    )
