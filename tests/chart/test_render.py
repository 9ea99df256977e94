"""Every values scenario renders manifests valid for Kubernetes 1.28 and 1.36."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support import k8s_schema
from support.manifests import by_kind

ROOT = Path(__file__).resolve().parents[2]

SCENARIOS = {
    "defaults": {},
    "existing-secret": {"secrets": {"existingSecret": "creds"}},
    "gemini": {
        "ai": {
            "provider": "gemini",
            "model": "gemini-2.0-flash",
            "baseUrl": "http://ai.internal/v1beta/openai",
        }
    },
    "ingress-tls": {
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "host": "todo.example.com",
            "annotations": {"example.com/limit": "10"},
            "tls": {"enabled": True},
        }
    },
    "http-route": {
        "httpRoute": {
            "enabled": True,
            "hostnames": ["todo.example.com"],
            "parentRefs": [{"name": "public", "namespace": "infra"}],
        }
    },
    "autoscaling": {
        "backend": {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 8}},
        "frontend": {"autoscaling": {"enabled": True}},
    },
    "node-port": {
        "frontend": {
            "service": {"type": "NodePort", "nodePort": 30080, "externalTrafficPolicy": "Local"}
        }
    },
    "load-balancer": {"frontend": {"service": {"type": "LoadBalancer", "port": 8080}}},
    "scheduling": {
        "backend": {
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "app", "effect": "NoSchedule"}
            ],
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "kubernetes.io/arch",
                                        "operator": "In",
                                        "values": ["amd64"],
                                    }
                                ]
                            }
                        ]
                    }
                }
            },
            "podAnnotations": {"prometheus.io/scrape": "true"},
            "image": {"pullSecrets": ["regcred"], "digest": "sha256:" + "a" * 64},
        }
    },
    "minimal": {
        "networkPolicy": {"enabled": False},
        "backend": {"podDisruptionBudget": {"enabled": False}},
        "frontend": {"podDisruptionBudget": {"enabled": False}},
    },
    "own-image": {
        "global": {"imageRegistry": "registry.example"},
        "commonLabels": {"example.com/owner": "todo"},
        "commonAnnotations": {"example.com/contact": "ops"},
        "secrets": {"extra": {"GROQ_API_KEY": "groq-not-a-real-key"}},
        "backend": {
            "containerPorts": {"http": 8080},
            "command": ["uvicorn", "main:app"],
            "args": ["--port", "8080"],
            "envNames": {"BETTER_AUTH_SECRET": "JWT_SECRET", "AI_PROVIDER": "LLM_PROVIDER"},
            "extraEnvVars": [
                {"name": "APP_ENV", "value": "production"},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            ],
            "extraEnvVarsCM": "todo-env",
            "extraEnvVarsSecret": "todo-more-keys",
            "extraSecretKeys": ["GROQ_API_KEY"],
            "writablePaths": ["/app/.cache", "/var/run/app"],
            "extraVolumes": [{"name": "ca", "configMap": {"name": "ca-bundle"}}],
            "extraVolumeMounts": [{"name": "ca", "mountPath": "/etc/ca", "readOnly": True}],
            "podSecurityContext": {"runAsUser": 1001, "runAsGroup": 1001, "fsGroup": 1001},
            "containerSecurityContext": {"runAsUser": 1001, "runAsGroup": 1001},
            "initContainers": [{"name": "wait", "image": "busybox:1.36", "command": ["true"]}],
            "sidecars": [{"name": "mcp", "image": "mcp:1.0", "ports": [{"containerPort": 9000}]}],
            "podLabels": {"example.com/team": "todo"},
            "priorityClassName": "high",
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                }
            ],
            "probes": {
                "liveness": {"path": "/api/health"},
                "readiness": {"path": "/api/health"},
                "startup": {"enabled": False},
            },
        },
        "frontend": {
            "containerPorts": {"http": 8081},
            "envNames": {"BACKEND_URL": "API_URL"},
            "writablePaths": ["/app/.next/cache"],
            "probes": {"liveness": {"enabled": False}},
        },
        "networkPolicy": {
            "backendToFrontend": True,
            "extraEgress": {
                "frontend": [
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                        "ports": [{"port": 443, "protocol": "TCP"}],
                    }
                ]
            },
        },
        "tests": {"image": {"repository": "library/busybox", "tag": "1.36"}},
    },
    "public-path": {
        "backend": {"publicPath": "/api"},
        "networkPolicy": {"ingressNamespace": "ingress-nginx"},
        "ingress": {"enabled": True, "host": "todo.example.com"},
        "httpRoute": {"enabled": True, "parentRefs": [{"name": "public"}]},
    },
    "migrations": {"migrations": {"enabled": True, "command": ["alembic", "upgrade", "head"]}},
    "metrics-service-monitor": {
        "metrics": {
            "enabled": True,
            "annotations": True,
            "serviceMonitor": {"enabled": True, "namespace": "monitoring", "scrapeTimeout": "10s"},
            "prometheusRule": {"enabled": True, "labels": {"release": "prometheus"}},
        },
        "networkPolicy": {"metricsNamespace": "monitoring"},
        # A cloud's way to publish the frontend, scraped through the metrics Services anyway.
        "frontend": {"service": {"type": "LoadBalancer"}},
    },
    "metrics-pod-monitor": {
        "metrics": {"enabled": True, "podMonitor": {"enabled": True, "labels": {"team": "ops"}}}
    },
    "migrations-existing-secret": {
        "secrets": {"existingSecret": "creds"},
        "migrations": {"enabled": True, "image": {"repository": "todo/migrate", "tag": "1"}},
    },
    "extra-deploy": {
        "extraDeploy": [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "{{ .Release.Name }}-mcp"},
                "spec": {"ports": [{"port": 9000}], "selector": {"app": "mcp"}},
            },
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-mcp\n"
            "data:\n  BACKEND: {{ .Values.backend.containerPorts.http | quote }}\n",
        ]
    },
    "example-file": yaml.safe_load((ROOT / "examples" / "values-existing-secret.yaml").read_text()),
    "example-external-secret": yaml.safe_load(
        (ROOT / "examples" / "values-external-secret.yaml").read_text()
    ),
    "example-nextjs": yaml.safe_load((ROOT / "examples" / "values-nextjs.yaml").read_text()),
    "two-releases": {"backend": {"autoscaling": {"enabled": True}}},
    **{
        f"example-{path.stem.removeprefix('values-')}": yaml.safe_load(path.read_text())
        for path in sorted((ROOT / "examples").glob("values-own-images-*.yaml"))
    },
}
RELEASES = {"two-releases": ("blue", "green")}
"""Scenarios installed as several releases into one namespace; the others as the release "todo"."""


def managed_secret(values: dict) -> bool:
    """Whether the chart makes the Secret from credentials (no existing or external one)."""
    return not {"existingSecret", "externalSecret"} & set(values.get("secrets", {}))


def render_scenario(render, scenario: str, kube_version: str | None = None) -> list[dict]:
    """Every object of a scenario, all its releases; credentials unless it brings a Secret.

    `kube_version`: the cluster's version Helm renders for (what it fits the objects to).
    """
    values = SCENARIOS[scenario]
    managed = managed_secret(values)
    extra = ["--kube-version", kube_version] if kube_version else []
    return [
        manifest
        for release in RELEASES.get(scenario, ("todo",))
        for manifest in render(values, release=release, with_credentials=managed, extra=extra)
    ]


@pytest.mark.parametrize("version", k8s_schema.KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_renders_valid_manifests(render, scenario, version):
    manifests = render_scenario(render, scenario, version)
    assert {m["kind"] for m in manifests} >= {
        "Deployment",
        "Service",
        "ConfigMap",
        "ServiceAccount",
    }
    problems = [problem for m in manifests for problem in k8s_schema.errors(m, version)]
    assert problems == []
    names = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert len(names) == len(set(names)), "two objects of one kind share a name"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_no_object_asks_helm_uninstall_to_keep_it(render, scenario):
    # The chart README promises that `helm uninstall` leaves nothing behind, the
    # chart-managed Secret included; a `keep` resource policy would break that. Only the
    # policy is checked here: no uninstall runs.
    values = SCENARIOS[scenario]
    managed = managed_secret(values)
    kept = [
        (m["kind"], m["metadata"]["name"])
        for m in render(values, with_credentials=managed)
        if "helm.sh/resource-policy" in m["metadata"].get("annotations", {})
    ]
    assert kept == []


def test_schema_validation_catches_an_unknown_field():
    broken = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "targetPortt": 8080}]},
    }
    assert any("targetPortt" in problem for problem in k8s_schema.errors(broken, "1.28.0"))


def selectors(manifest: dict) -> Iterator[dict]:
    """Every label selector in a manifest: `matchLabels` anywhere, and a Service's selector."""
    if manifest.get("kind") == "Service":
        yield manifest["spec"]["selector"]
    for key, value in manifest.items():
        if key == "matchLabels":
            yield value
        elif isinstance(value, dict):
            yield from selectors(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    yield from selectors(item)


def test_two_releases_select_and_admit_only_their_own_pods(render):
    values = SCENARIOS["two-releases"]
    for release in RELEASES["two-releases"]:
        manifests = render(values, release=release)
        found = [(m["kind"], selector) for m in manifests for selector in selectors(m)]
        # Deployments, Services, budgets, spread constraints and policy peers: all select.
        assert {kind for kind, _ in found} >= {
            "Deployment",
            "Service",
            "PodDisruptionBudget",
            "NetworkPolicy",
        }
        for kind, selector in found:
            assert selector["app.kubernetes.io/instance"] == release, (kind, selector)
        for hpa in [m for m in manifests if m["kind"] == "HorizontalPodAutoscaler"]:
            target = by_kind(manifests, "Deployment", hpa["spec"]["scaleTargetRef"]["name"])
            assert target["metadata"]["labels"]["app.kubernetes.io/instance"] == release


@pytest.mark.parametrize(
    ("kube_version", "expected"), [("1.33.0", "PreferClose"), ("1.30.0", None)]
)
def test_backend_service_prefers_close_backends_where_the_cluster_supports_it(
    render, kube_version, expected
):
    objects = render(extra=["--kube-version", kube_version])
    (backend,) = (
        o
        for o in objects
        if o["kind"] == "Service"
        and o["metadata"]["labels"]["app.kubernetes.io/component"] == "backend"
    )
    assert backend["spec"].get("trafficDistribution") == expected
    frontend = next(o for o in objects if o["kind"] == "Service" and o is not backend)
    assert "trafficDistribution" not in frontend["spec"]
