"""Outside access to the frontend through an ingress controller: an Ingress."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import cdk8s_plus_28 as kplus
from cdk8s import ApiObjectMetadata

from constructs import Construct

from .frontend import Frontend

HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def check_hostnames(prop: str, hosts: Sequence[str]) -> None:
    """Fail for the first of `hosts` that is not a DNS name, naming the prop and the host."""
    for host in hosts:
        if not HOSTNAME.match(host):
            raise ValueError(f"'{prop}' must hold DNS names, got '{host}'")


@dataclass(frozen=True, kw_only=True)
class IngressProps:
    """How users reach the frontend through the cluster's ingress controller."""

    name: str | None = None
    """Object name; default: the frontend's name."""
    hosts: tuple[str, ...] = ("todo.example.com",)
    """Host names users open, at least one; default: todo.example.com."""
    class_name: str | None = None
    """IngressClass; default: the cluster's default class."""
    tls_secret_name: str | None = None
    """TLS Secret for the hosts; default: plain HTTP."""
    annotations: dict[str, str] = field(default_factory=dict)
    """Controller settings; default: none."""

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
        metadata = ApiObjectMetadata(
            name=props.name or frontend.name,
            labels=frontend.labels,
            annotations=dict(props.annotations),
        )
        self.resource = kplus.Ingress(
            self, "Resource", metadata=metadata, class_name=props.class_name
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
