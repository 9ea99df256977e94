"""Defaults and checks shared by both components (tested through the backend)."""

import pytest
from support.manifests import all_of, by_kind, container, synth_backend
from todo_chatbot import AutoscalingProps, Labels, ProbeProps
from todo_chatbot.workload import METRICS_PORT
from todo_common.config import DEFAULT_METRICS_PORT


@pytest.fixture
def manifests(chart, secrets):
    return synth_backend(chart, secrets)


@pytest.fixture
def pod(manifests):
    return by_kind(manifests, "Deployment")["spec"]["template"]["spec"]


def test_pod_runs_as_numeric_non_root_user(pod):
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["runAsGroup"] == 10001


def test_container_is_locked_down(manifests):
    security = container(by_kind(manifests, "Deployment"))["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["privileged"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}


def test_tmp_is_the_only_writable_path(pod):
    mounts = container({"spec": {"template": {"spec": pod}}})["volumeMounts"]
    assert mounts == [{"mountPath": "/tmp", "name": "tmp"}]
    assert pod["volumes"][0]["emptyDir"]["sizeLimit"] == "64Mi"


def test_service_account_token_is_not_mounted(manifests, pod):
    assert by_kind(manifests, "ServiceAccount")["automountServiceAccountToken"] is False
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "todo-chatbot-backend"


def test_rolling_update_never_drops_below_desired_replicas(manifests):
    strategy = by_kind(manifests, "Deployment")["spec"]["strategy"]
    assert strategy == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_probes_check_the_contract_paths(manifests):
    main = container(by_kind(manifests, "Deployment"))
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 8000, "scheme": "HTTP"}
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_liveness_restarts_a_hung_pod_within_30_seconds(manifests):
    liveness = container(by_kind(manifests, "Deployment"))["livenessProbe"]
    # A hung process ignores SIGTERM: without the probe's own short grace, the kill would
    # wait the pod's whole terminationGracePeriodSeconds (measured end to end: 48 s).
    worst_case = (
        liveness["periodSeconds"] * liveness["failureThreshold"]
        + liveness["timeoutSeconds"]
        + liveness["terminationGracePeriodSeconds"]
    )
    assert worst_case < 30


def test_probes_are_configurable(chart, secrets):
    manifests = synth_backend(
        chart,
        secrets,
        liveness=ProbeProps(path="/live", period_seconds=2, failure_threshold=2, timeout_seconds=1),
        readiness=ProbeProps(path="/ready", period_seconds=4, failure_threshold=5),
        startup=ProbeProps(path="/started", period_seconds=1, failure_threshold=90),
    )
    main = container(by_kind(manifests, "Deployment"))
    assert [
        (
            main[p]["httpGet"]["path"],
            main[p]["periodSeconds"],
            main[p]["failureThreshold"],
            main[p]["timeoutSeconds"],
        )
        for p in ("livenessProbe", "readinessProbe", "startupProbe")
    ] == [("/live", 2, 2, 1), ("/ready", 4, 5, 2), ("/started", 1, 90, 2)]


def test_graceful_shutdown_sleeps_before_sigterm(chart, secrets):
    deployment = by_kind(synth_backend(chart, secrets, termination_grace_seconds=45), "Deployment")
    assert container(deployment)["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 45


def test_resources_have_requests_and_limits(manifests):
    resources = container(by_kind(manifests, "Deployment"))["resources"]
    assert resources == {
        "requests": {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
        "limits": {"cpu": "1000m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
    }


def test_ephemeral_storage_is_set_by_props(chart, secrets):
    manifests = synth_backend(
        chart,
        secrets,
        ephemeral_storage_request_mebibytes=100,
        ephemeral_storage_limit_mebibytes=1024,
    )
    resources = container(by_kind(manifests, "Deployment"))["resources"]
    assert resources["requests"]["ephemeral-storage"] == "100Mi"
    assert resources["limits"]["ephemeral-storage"] == "1024Mi"


def test_pods_spread_softly_over_nodes_and_zones(pod):
    nodes, zones = pod["topologySpreadConstraints"]
    assert nodes["topologyKey"] == "kubernetes.io/hostname"
    assert zones["topologyKey"] == "topology.kubernetes.io/zone"
    # Soft: a full node must not keep a replica Pending (chart README, measured).
    assert {c["whenUnsatisfiable"] for c in (nodes, zones)} == {"ScheduleAnyway"}
    # minDomains would keep replicas Pending on a single-node cluster.
    assert "minDomains" not in nodes and "minDomains" not in zones


def test_standard_labels_and_selectors(manifests):
    deployment = by_kind(manifests, "Deployment")
    labels = deployment["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/name": "todo-chatbot",
        "app.kubernetes.io/instance": "todo-chatbot",
        "app.kubernetes.io/component": "backend",
        "app.kubernetes.io/version": "0.0.0",
        "app.kubernetes.io/part-of": "todo-chatbot",
        "app.kubernetes.io/managed-by": "cdk8s",
    }
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == {
        key: labels[key]
        for key in (
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/component",
        )
    }
    for service in ("todo-chatbot-backend", "todo-chatbot-backend-metrics"):
        assert by_kind(manifests, "Service", service)["spec"]["selector"] == selector
    assert deployment["spec"]["template"]["metadata"]["labels"].items() >= selector.items()


def test_chart_label_when_given(chart, secrets):
    manifests = synth_backend(chart, secrets, labels=Labels(chart="todo-chatbot-1.2.3"))
    assert (
        by_kind(manifests, "Deployment")["metadata"]["labels"]["helm.sh/chart"]
        == "todo-chatbot-1.2.3"
    )


def test_service_is_cluster_internal_by_default(manifests):
    service = by_kind(manifests, "Service", "todo-chatbot-backend")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": 8000}]


@pytest.mark.parametrize("service_type", ["ClusterIP", "NodePort", "LoadBalancer"])
def test_a_headless_metrics_service_whatever_the_service_type(chart, secrets, service_type):
    manifests = synth_backend(chart, secrets, service_type=service_type)
    service = by_kind(manifests, "Service", "todo-chatbot-backend-metrics")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": METRICS_PORT, "targetPort": METRICS_PORT}
    ]
    # A label the app's Service lacks, which the ServiceMonitor selects.
    assert service["metadata"]["labels"]["app.kubernetes.io/component"] == "backend-metrics"
    app = by_kind(manifests, "Service", "todo-chatbot-backend")
    assert [port["name"] for port in app["spec"]["ports"]] == ["http"]


def test_no_autoscaler_by_default_and_fixed_replicas(manifests):
    assert all_of(manifests, "HorizontalPodAutoscaler") == []
    assert by_kind(manifests, "Deployment")["spec"]["replicas"] == 1


def test_autoscaler_targets_cpu_and_owns_replicas(chart, secrets):
    manifests = synth_backend(
        chart, secrets, autoscaling=AutoscalingProps(min_replicas=2, max_replicas=4)
    )
    hpa = by_kind(manifests, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 4)
    assert hpa["spec"]["scaleTargetRef"]["name"] == "todo-chatbot-backend"
    target = hpa["spec"]["metrics"][0]["resource"]
    assert target["name"] == "cpu" and target["target"]["averageUtilization"] == 70
    assert "replicas" not in by_kind(manifests, "Deployment")["spec"]
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_autoscaler_scale_down_stabilization(chart, secrets):
    scaling = AutoscalingProps(scale_down_stabilization_seconds=30)
    hpa = by_kind(synth_backend(chart, secrets, autoscaling=scaling), "HorizontalPodAutoscaler")
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 30


def test_disruption_budget_by_default(manifests):
    pdb = by_kind(manifests, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "backend"


def test_disruption_budget_can_be_turned_off(chart, secrets):
    assert all_of(synth_backend(chart, secrets, max_unavailable=None), "PodDisruptionBudget") == []


def test_disruption_budget_min_available_replaces_max_unavailable(chart, secrets):
    pdb = by_kind(synth_backend(chart, secrets, min_available=2), "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 2
    assert "maxUnavailable" not in pdb["spec"]


def test_image_pull_secrets(chart, secrets):
    manifests = synth_backend(chart, secrets, image_pull_secrets=("regcred",))
    pod = by_kind(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"replicas": -1}, "'replicas' must be >= 0, got -1"),
        ({"service_type": "Ingress"}, "'service_type' must be one of .* got 'Ingress'"),
        ({"image_pull_policy": "Sometimes"}, "got 'Sometimes'"),
        (
            {"liveness": ProbeProps(path="healthz", period_seconds=5, failure_threshold=3)},
            "'liveness.path' must start with '/', got 'healthz'",
        ),
        (
            {"readiness": ProbeProps(path="/readyz", period_seconds=0, failure_threshold=3)},
            "'readiness.period_seconds' must be >= 1, got 0",
        ),
        ({"cpu_request_millis": 2000}, r"'cpu_request_millis' \(2000\) exceeds"),
        ({"memory_request_mebibytes": 512}, r"'memory_request_mebibytes' \(512\) exceeds"),
        (
            {"ephemeral_storage_request_mebibytes": 512},
            r"'ephemeral_storage_request_mebibytes' \(512\) exceeds "
            r"'ephemeral_storage_limit_mebibytes' \(256\)",
        ),
        (
            {"pre_stop_sleep_seconds": 30, "termination_grace_seconds": 30},
            r"'pre_stop_sleep_seconds' \(30\) must be below",
        ),
        ({"min_available": -1}, "'min_available' must be >= 0, got -1"),
        ({"max_unavailable": -1}, "'max_unavailable' must be >= 0, got -1"),
        ({"autoscaling": AutoscalingProps(min_replicas=3, max_replicas=2)}, "got 3..2"),
        (
            {"autoscaling": AutoscalingProps(scale_down_stabilization_seconds=-5)},
            "'scale_down_stabilization_seconds' must be 0..3600, got -5",
        ),
        ({"metrics_port": 0}, "'metrics_port' must be a port, got 0"),
        ({"metrics_port": 8000}, "'metrics_port' must differ from the backend's port, got 8000"),
        (
            {"container_port": 9090},
            "'metrics_port' must differ from the backend's port, got 9090",
        ),
    ],
)
def test_fails_when_props_are_invalid(chart, secrets, props, message):
    with pytest.raises(ValueError, match=message):
        synth_backend(chart, secrets, **props)


def test_service_account_has_no_annotations_by_default(manifests):
    assert "annotations" not in by_kind(manifests, "ServiceAccount")["metadata"]


def test_service_account_annotations_name_a_workload_identity(chart, secrets):
    identity = {"iam.gke.io/gcp-service-account": "todo@project.iam.gserviceaccount.com"}
    manifests = synth_backend(chart, secrets, service_account_annotations=identity)
    assert by_kind(manifests, "ServiceAccount")["metadata"]["annotations"] == identity


def test_the_metrics_port_is_the_images_default():
    assert METRICS_PORT == DEFAULT_METRICS_PORT


def test_metrics_port_names_a_container_and_a_service_port(chart, secrets):
    manifests = synth_backend(chart, secrets, metrics_port=9100)
    assert {"containerPort": 9100, "name": "metrics"} in container(
        by_kind(manifests, "Deployment")
    )["ports"]
    assert by_kind(manifests, "Service", "todo-chatbot-backend-metrics")["spec"]["ports"] == [
        {"name": "metrics", "port": 9100, "targetPort": 9100}
    ]
