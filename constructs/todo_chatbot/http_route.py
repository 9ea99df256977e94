"""Outside access to the frontend through a Gateway API Gateway: an HTTPRoute."""

from __future__ import annotations

from dataclasses import dataclass

import todo_chatbot.gateway as gateway
from constructs import Construct

from .edge import EdgeProps, check_hostnames
from .frontend import Frontend


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
class HttpRouteProps(EdgeProps):
    """How users reach the frontend through existing Gateways (TLS is the Gateway's job)."""

    gateway_refs: tuple[GatewayRef, ...]
    """Gateways the route attaches to; required, at least one."""
    hostnames: tuple[str, ...] = ()
    """Host names the route serves; default: every host name the Gateway's listeners accept."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        if not self.gateway_refs:
            raise ValueError("'gateway_refs' must name at least one Gateway, got ()")
        check_hostnames("hostnames", self.hostnames)


class HttpRoute(Construct):
    """Routes the Gateways' traffic to the frontend's Service (and the backend's public path).

    Child `Resource` is the HTTPRoute.
    """

    def __init__(
        self, scope: Construct, id: str, *, frontend: Frontend, props: HttpRouteProps
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        self.resource = gateway.HttpRoute(
            self,
            "Resource",
            metadata=props.metadata(frontend),
            spec=gateway.HttpRouteSpec(
                parent_refs=[
                    gateway.HttpRouteSpecParentRefs(
                        name=ref.name, namespace=ref.namespace, section_name=ref.section_name
                    )
                    for ref in props.gateway_refs
                ],
                hostnames=list(props.hostnames) or None,
                rules=[
                    gateway.HttpRouteSpecRules(
                        matches=[
                            gateway.HttpRouteSpecRulesMatches(
                                path=gateway.HttpRouteSpecRulesMatchesPath(
                                    type=gateway.HttpRouteSpecRulesMatchesPathType.PATH_PREFIX,
                                    value=path,
                                )
                            )
                        ],
                        backend_refs=[
                            gateway.HttpRouteSpecRulesBackendRefs(
                                name=service.name, port=service.port
                            )
                        ],
                    )
                    for service, path in frontend.routes
                ],
            ),
        )
