"""Outside access to the frontend through an ingress controller: an Ingress."""

from __future__ import annotations

from dataclasses import dataclass

import cdk8s_plus_28 as kplus

from constructs import Construct

from .edge import EdgeProps, check_hostnames
from .frontend import Frontend


@dataclass(frozen=True, kw_only=True)
class IngressProps(EdgeProps):
    """How users reach the frontend through the cluster's ingress controller."""

    hosts: tuple[str, ...] = ("todo.example.com",)
    """Host names users open, at least one; default: todo.example.com."""
    class_name: str | None = None
    """IngressClass; default: the cluster's default class."""
    tls_secret_name: str | None = None
    """TLS Secret for the hosts; default: plain HTTP."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        if not self.hosts:
            raise ValueError("'hosts' must name at least one host, got ()")
        check_hostnames("hosts", self.hosts)


class Ingress(Construct):
    """Routes outside traffic to the frontend's Service (and the backend's public path).

    Child `Resource` is the Ingress.
    """

    def __init__(
        self, scope: Construct, id: str, *, frontend: Frontend, props: IngressProps
    ) -> None:
        super().__init__(scope, id)
        props.validate()
        self.resource = kplus.Ingress(
            self, "Resource", metadata=props.metadata(frontend), class_name=props.class_name
        )
        for service, path in frontend.routes:
            backend = kplus.IngressBackend.from_service(service, port=service.port)
            for host in props.hosts:
                self.resource.add_host_rule(host, path, backend, kplus.HttpIngressPathType.PREFIX)
        if props.tls_secret_name:
            self.resource.add_tls(
                [
                    kplus.IngressTls(
                        hosts=list(props.hosts),
                        secret=kplus.Secret.from_secret_name(self, "Tls", props.tls_secret_name),
                    )
                ]
            )
