"""cdk8s constructs for the todo-chatbot: `from todo_chatbot import Backend, Frontend, ...`."""

from .backend import Backend, BackendProps
from .chart import TodoChatbot, TodoChatbotProps
from .edge import EdgeProps
from .external_secret import ExternalSecret, ExternalSecretProps, RemoteRef
from .frontend import Frontend, FrontendProps
from .http_route import GatewayRef, HttpRoute, HttpRouteProps
from .ingress import Ingress, IngressProps
from .labels import Labels
from .migration import Migration, MigrationProps
from .network_policy import NetworkPolicies, NetworkPolicyProps
from .pod_monitor import PodMonitor
from .prometheus_rule import PrometheusRule, PrometheusRuleProps
from .secret import Secrets, SecretsProps
from .service_monitor import ScrapeProps, ServiceMonitor
from .workload import AutoscalingProps, ProbeProps, Workload, WorkloadProps

__all__ = [
    "AutoscalingProps",
    "Backend",
    "BackendProps",
    "EdgeProps",
    "ExternalSecret",
    "ExternalSecretProps",
    "Frontend",
    "FrontendProps",
    "GatewayRef",
    "HttpRoute",
    "HttpRouteProps",
    "Ingress",
    "IngressProps",
    "Labels",
    "Migration",
    "MigrationProps",
    "NetworkPolicies",
    "NetworkPolicyProps",
    "PodMonitor",
    "ProbeProps",
    "PrometheusRule",
    "PrometheusRuleProps",
    "RemoteRef",
    "ScrapeProps",
    "Secrets",
    "SecretsProps",
    "ServiceMonitor",
    "TodoChatbot",
    "TodoChatbotProps",
    "Workload",
    "WorkloadProps",
]
