"""The whole todo-chatbot as one cdk8s chart."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import cdk8s

from constructs import Construct

from .backend import Backend, BackendProps
from .frontend import Frontend, FrontendProps
from .http_route import HttpRoute, HttpRouteProps
from .ingress import Ingress, IngressProps
from .labels import Labels
from .migration import Migration, MigrationProps
from .network_policy import NetworkPolicies, NetworkPolicyProps
from .pod_monitor import PodMonitor
from .prometheus_rule import PrometheusRule, PrometheusRuleProps
from .secret import Secrets, SecretsProps
from .service_monitor import ScrapeProps, ServiceMonitor

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Props = TypeVar("_Props", bound="DataclassInstance")


@dataclass(frozen=True, kw_only=True)
class TodoChatbotProps:
    """Everything the todo-chatbot needs; `labels` is applied to every part."""

    secrets: SecretsProps
    """Credentials (managed Secret or existing one); required."""
    backend: BackendProps
    """Backend settings; required (the image at least)."""
    frontend: FrontendProps
    """Frontend settings; required (the image at least)."""
    labels: Labels = Labels()
    """Standard labels; default: instance "todo-chatbot"."""
    ingress: IngressProps | None = None
    """Ingress for the frontend; default: none (reach it through its Service)."""
    http_route: HttpRouteProps | None = None
    """Gateway API HTTPRoute for the frontend; default: none."""
    network_policy: NetworkPolicyProps | None = NetworkPolicyProps()
    """NetworkPolicies; default: on, backend reachable from the frontend only."""
    migrations: MigrationProps | None = None
    """A Job that migrates the database (before the backend serves, in the Helm chart);
    default: none, the images migrate themselves."""
    service_monitor: ScrapeProps | None = None
    """A Prometheus Operator ServiceMonitor scraping both components' metrics port;
    default: none."""
    pod_monitor: ScrapeProps | None = None
    """A PodMonitor instead, for set-ups that watch pods (not with `service_monitor`: each
    pod would be scraped twice); default: none."""
    prometheus_rule: PrometheusRuleProps | None = None
    """The service level recording rules and alerts (`PrometheusRule`); default: none."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        if self.service_monitor is not None and self.pod_monitor is not None:
            raise ValueError(
                "'service_monitor' and 'pod_monitor' would scrape every pod twice; set one, "
                "got both"
            )
        if self.service_monitor is not None and self.frontend.service_type != "ClusterIP":
            raise ValueError(
                "'service_monitor' cannot scrape a frontend whose Service is "
                f"'{self.frontend.service_type}': that Service leaves out the metrics port, "
                "which would be open on the nodes; use 'pod_monitor'"
            )


class TodoChatbot(cdk8s.Chart):
    """Secrets, backend, frontend, outside access and network policies, wired together.

    Children: `Secrets`, `Backend`, `Frontend`, and when configured `Migrations`,
    `Ingress`, `HttpRoute`, `NetworkPolicy`, `ServiceMonitor` or `PodMonitor`,
    `PrometheusRule`.
    """

    def __init__(self, scope: Construct, id: str, *, props: TodoChatbotProps) -> None:
        props.validate()
        super().__init__(scope, id, disable_resource_name_hashes=True)

        def labelled(part: _Props) -> _Props:
            """A part's props with the chart's labels, which every object carries."""
            return dataclasses.replace(part, labels=props.labels)

        self.secrets = Secrets(self, "Secrets", props=labelled(props.secrets))
        self.backend = Backend(self, "Backend", secrets=self.secrets, props=labelled(props.backend))
        self.frontend = Frontend(
            self,
            "Frontend",
            secrets=self.secrets,
            backend=self.backend,
            props=labelled(props.frontend),
        )
        self.migrations = None
        if props.migrations is not None:
            self.migrations = Migration(
                self,
                "Migrations",
                backend=self.backend,
                secrets=self.secrets,
                props=props.migrations,
            )
        if props.ingress is not None:
            self.ingress = Ingress(self, "Ingress", frontend=self.frontend, props=props.ingress)
        if props.http_route is not None:
            self.http_route = HttpRoute(
                self, "HttpRoute", frontend=self.frontend, props=props.http_route
            )
        if props.network_policy is not None:
            self.network_policy = NetworkPolicies(
                self,
                "NetworkPolicy",
                frontend=self.frontend,
                migrations=self.migrations,
                props=props.network_policy,
            )
        targets = (self.backend, self.frontend)
        if props.service_monitor is not None:
            self.service_monitor = ServiceMonitor(
                self, "ServiceMonitor", targets=targets, props=labelled(props.service_monitor)
            )
        if props.pod_monitor is not None:
            self.pod_monitor = PodMonitor(
                self, "PodMonitor", targets=targets, props=labelled(props.pod_monitor)
            )
        if props.prometheus_rule is not None:
            self.prometheus_rule = PrometheusRule(
                self, "PrometheusRule", props=labelled(props.prometheus_rule)
            )
