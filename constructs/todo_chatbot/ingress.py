"""Outside access to the frontend: an Ingress, or a Gateway API HTTPRoute."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import cdk8s_plus_28 as kplus
from cdk8s import ApiObjectMetadata

import todo_chatbot.gateway as gateway
from constructs import Construct

from .frontend import Frontend

HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True, kw_only=True)
class GatewayRef:
    """A Gateway an HTTPRoute attaches to."""

    name: str
    """Gateway name; required."""
    namespace: str | None = None
    """Gateway namespace; default: the route's namespace."""
    section_name: str | None = None
    """Listener of the Gateway; default: every listener that accepts the route."""


@dataclass(frozen=True, kw_only=True)
class IngressProps:
    """How users reach the frontend.

    With `gateway_refs` the construct emits an HTTPRoute attached to those
    Gateways (for clusters on the Gateway API); otherwise an Ingress.
    """

    name: str | None = None
    """Object name; default: the frontend's name."""
    hosts: tuple[str, ...] = ("todo.example.com",)
    """Host names users open; default: todo.example.com."""
    class_name: str | None = None
    """IngressClass; default: the cluster's default class."""
    tls_secret_name: str | None = None
    """TLS Secret for the hosts (Ingress only); default: plain HTTP."""
    annotations: dict[str, str] = field(default_factory=dict)
    """Controller settings; default: none."""
    gateway_refs: tuple[GatewayRef, ...] = ()
    """Gateways to attach an HTTPRoute to; default: none, emit an Ingress."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        for host in self.hosts:
            if not HOSTNAME.match(host):
                raise ValueError(f"'hosts' must hold DNS names, got '{host}'")
        if not self.hosts and not self.gateway_refs:
            raise ValueError("an Ingress needs at least one of 'hosts'")
        if self.gateway_refs and self.tls_secret_name:
            raise ValueError(
                "'tls_secret_name' is set on the Gateway's listener, not on an "
                "HTTPRoute; remove it or remove 'gateway_refs'"
            )


class Ingress(Construct):
    """Routes outside traffic to the frontend's Service, and only to it.

    Child `Resource` is the Ingress or the HTTPRoute.
    """

    def __init__(
        self, scope: Construct, id: str, *, frontend: Frontend, props: IngressProps
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        metadata = ApiObjectMetadata(
            name=props.name or frontend.name,
            labels=frontend.labels,
            annotations=dict(props.annotations),
        )
        port = frontend.service.port
        if props.gateway_refs:
            self.resource = gateway.HttpRoute(
                self,
                "Resource",
                metadata=metadata,
                spec=gateway.HttpRouteSpec(
                    parent_refs=[
                        gateway.HttpRouteSpecParentRefs(
                            name=ref.name, namespace=ref.namespace, section_name=ref.section_name
                        )
                        for ref in props.gateway_refs
                    ],
                    hostnames=list(props.hosts) or None,
                    rules=[
                        gateway.HttpRouteSpecRules(
                            matches=[
                                gateway.HttpRouteSpecRulesMatches(
                                    path=gateway.HttpRouteSpecRulesMatchesPath(
                                        type=gateway.HttpRouteSpecRulesMatchesPathType.PATH_PREFIX,
                                        value="/",
                                    )
                                )
                            ],
                            backend_refs=[
                                gateway.HttpRouteSpecRulesBackendRefs(
                                    name=frontend.service.name, port=port
                                )
                            ],
                        )
                    ],
                ),
            )
            return
        backend = kplus.IngressBackend.from_service(frontend.service, port=port)
        self.resource = kplus.Ingress(
            self,
            "Resource",
            metadata=metadata,
            class_name=props.class_name,
            rules=[
                kplus.IngressRule(
                    backend=backend, host=host, path="/", path_type=kplus.HttpIngressPathType.PREFIX
                )
                for host in props.hosts
            ],
        )
        if props.tls_secret_name:
            self.resource.add_tls(
                [
                    kplus.IngressTls(
                        hosts=list(props.hosts),
                        secret=kplus.Secret.from_secret_name(self, "Tls", props.tls_secret_name),
                    )
                ]
            )
