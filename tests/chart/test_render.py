"""Every values scenario renders manifests valid for Kubernetes 1.28 and 1.36."""

from pathlib import Path

import pytest
import yaml
from support import k8s_schema

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
    "example-file": yaml.safe_load((ROOT / "examples" / "values-existing-secret.yaml").read_text()),
}


@pytest.mark.parametrize("version", k8s_schema.KUBERNETES_VERSIONS)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_renders_valid_manifests(render, scenario, version):
    values = SCENARIOS[scenario]
    manifests = render(values, with_credentials="existingSecret" not in values.get("secrets", {}))
    assert {m["kind"] for m in manifests} >= {
        "Deployment",
        "Service",
        "ConfigMap",
        "ServiceAccount",
    }
    problems = [problem for m in manifests for problem in k8s_schema.errors(m, version)]
    assert problems == []


def test_schema_validation_catches_an_unknown_field():
    broken = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "targetPortt": 8080}]},
    }
    assert any("targetPortt" in problem for problem in k8s_schema.errors(broken, "1.28.0"))
