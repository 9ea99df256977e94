"""The web frontend: sign-in, the task list and the chat panel, exposed to users."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import cdk8s_plus_28 as kplus

from constructs import Construct

from .backend import Backend
from .choices import LOG_LEVELS
from .secret import BETTER_AUTH_SECRET, DATABASE_URL, Secrets
from .workload import INSTANCE_NAME, Workload, WorkloadProps

PORT = 3000
"""Container port of the frontend image (docs/contract.md)."""
CONFIG_KEYS = (
    "BACKEND_URL",
    "PUBLIC_URL",
    "LOG_LEVEL",
    "SIGNUP_LIMIT_PER_CLIENT",
    "TRUSTED_PROXIES",
)
"""Variables of the frontend's ConfigMap."""
VARIABLES = (*CONFIG_KEYS, DATABASE_URL, BETTER_AUTH_SECRET, INSTANCE_NAME)
"""Every variable the chart sets in the frontend: what `env_names` may rename."""


@dataclass(frozen=True, kw_only=True)
class FrontendProps(WorkloadProps):
    """The frontend's settings on top of `WorkloadProps`.

    The default 256Mi memory limit leaves room for two argon2id hashes at once
    (64 MiB each) on top of ~50 MiB at rest; the frontend queues further
    sign-ins rather than grow.
    """

    public_url: str = "http://localhost:8080"
    """URL users open (cookies, origin checks); https:// turns on Secure cookies.

    Default: http://localhost:8080, where `kubectl port-forward` puts it.
    """
    log_level: str = "info"
    """Log level; default: info."""
    sign_up_limit_per_client: int = 5
    """Sign-ups one client address may make per 10 minutes, per replica; default: 5 (a flood
    gets an account and an argon2 hash every two minutes, a family or office still signs up)."""
    trusted_proxies: tuple[str, ...] = ()
    """CIDRs of the proxies (the ingress controller's pods) whose `X-Forwarded-For` the sign-in
    and sign-up limits believe; default: none, the limits key on the connection's address."""
    service_port: int | None = 80
    """Service port; default: 80."""
    cpu_request_millis: int = 50
    """CPU the scheduler reserves; default: 50m (the frontend mostly waits on the backend)."""
    cpu_limit_millis: int = 500
    """CPU ceiling; default: half a core, what the benchmark measured with."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        super().validate()
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"'log_level' must be one of {LOG_LEVELS}, got '{self.log_level}'")
        if self.sign_up_limit_per_client < 1:
            raise ValueError(
                f"'sign_up_limit_per_client' must be >= 1, got {self.sign_up_limit_per_client}"
            )
        for cidr in self.trusted_proxies:
            try:
                ipaddress.ip_network(cidr)
            except ValueError:
                raise ValueError(
                    f"'trusted_proxies' must hold CIDRs such as 10.0.0.0/8, got '{cidr}'"
                ) from None
        if not self.public_url.startswith(("http://", "https://")):
            raise ValueError(
                f"'public_url' must start with http:// or https://, got '{self.public_url}'"
            )


class Frontend(Workload):
    """The frontend Deployment, Service and friends; see `Workload` for the children.

    It reaches the backend through the backend's Service and never receives
    the AI key: only DATABASE_URL (its own role's when the Secret has one:
    `Secrets.frontend_database_key`) and BETTER_AUTH_SECRET.
    """

    def __init__(
        self, scope: Construct, id: str, *, secrets: Secrets, backend: Backend, props: FrontendProps
    ) -> None:
        props.validate()
        values = (
            backend.service_url,
            props.public_url,
            props.log_level,
            str(props.sign_up_limit_per_client),
            ",".join(props.trusted_proxies),
        )
        config = dict(zip(CONFIG_KEYS, values, strict=True))
        super().__init__(
            scope,
            id,
            component="frontend",
            port=PORT,
            variables=VARIABLES,
            props=props,
            config=config,
            secrets=secrets,
            secret_keys={
                DATABASE_URL: secrets.frontend_database_key,
                BETTER_AUTH_SECRET: BETTER_AUTH_SECRET,
            },
        )
        self.backend = backend

    @property
    def routes(self) -> list[tuple[kplus.Service, str]]:
        """What users reach from outside, as (Service, path prefix): this frontend at `/` and
        the backend at its public path when it has one; the Ingress and the HTTPRoute serve
        these."""
        routes = [(self.service, "/")]
        if self.backend.public_path:
            routes.append((self.backend.service, self.backend.public_path))
        return routes
