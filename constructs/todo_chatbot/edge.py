"""What both ways in to the frontend (`Ingress`, `HttpRoute`) take: a name, annotations and
host names, checked alike."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from cdk8s import ApiObjectMetadata

from .frontend import Frontend

HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def check_hostnames(prop: str, hosts: Sequence[str]) -> None:
    """Fail for the first of `hosts` that is not a DNS name, naming the prop and the host."""
    for host in hosts:
        if not HOSTNAME.match(host):
            raise ValueError(f"'{prop}' must hold DNS names, got '{host}'")


@dataclass(frozen=True, kw_only=True)
class EdgeProps:
    """The object that lets users in: its name and annotations."""

    name: str | None = None
    """Object name; default: the frontend's name."""
    annotations: dict[str, str] = field(default_factory=dict)
    """Annotations (for an Ingress, its controller's settings); default: none."""

    def metadata(self, frontend: Frontend) -> ApiObjectMetadata:
        """The object's metadata: `name`, the frontend's labels, `annotations`."""
        return ApiObjectMetadata(
            name=self.name or frontend.name,
            labels=frontend.labels,
            annotations=dict(self.annotations),
        )
