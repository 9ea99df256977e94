"""The FastAPI backend: tasks and the AI chat assistant, reachable in-cluster only."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from .choices import AI_PROVIDERS, LOG_LEVELS
from .secret import AI_KEYS, BETTER_AUTH_SECRET, DATABASE_URL, Secrets
from .workload import INSTANCE_NAME, Workload, WorkloadProps

PORT = 8000
"""Container port of the backend image (docs/contract.md)."""
CONFIG_KEYS = (
    "AI_PROVIDER",
    "AI_MODEL",
    "AI_TIMEOUT_SECONDS",
    "LOG_LEVEL",
    "CHAT_TURNS_PER_MINUTE",
    "CHAT_CONCURRENT_TURNS",
    "AI_BASE_URL",
)
"""Variables of the backend's ConfigMap (AI_BASE_URL only when set)."""
VARIABLES = (*CONFIG_KEYS, DATABASE_URL, BETTER_AUTH_SECRET, *AI_KEYS.values(), INSTANCE_NAME)
"""Every variable the chart may set in the backend: what `env_names` may rename."""
CHAT_TURN_TIMEOUT_SECONDS = 50
"""When the image stops a chat turn (its CHAT_TURN_TIMEOUT_SECONDS default, docs/contract.md)."""


@dataclass(frozen=True, kw_only=True)
class BackendProps(WorkloadProps):
    """The backend's settings on top of `WorkloadProps`."""

    ai_provider: str = "openai"
    """"openai" or "gemini"; the pod gets only that provider's key. Default: openai."""
    ai_model: str = "gpt-4o-mini"
    """Chat model; default: gpt-4o-mini."""
    ai_base_url: str = ""
    """OpenAI-compatible base URL; default: the provider's own."""
    ai_timeout_seconds: int = 30
    """Timeout of one provider call; default: 30 s."""
    termination_grace_seconds: int = 60
    """Time to drain in-flight requests after SIGTERM; default: 60 s, so a chat turn in
    flight (the image stops one after CHAT_TURN_TIMEOUT_SECONDS) still gets its answer."""
    log_level: str = "info"
    """Log level; default: info."""
    chat_turns_per_minute: int = 10
    """Chat turns one user may start per minute, per replica (429 with Retry-After beyond);
    default: 10, since every turn costs the AI provider's fees."""
    chat_concurrent_turns: int = 2
    """Chat turns one user may have running at once, per replica (429 beyond); default: 2."""
    public_path: str = ""
    """Path prefix under which the frontend's Ingress or HTTPRoute also routes to the backend,
    for images whose browser code calls the backend itself (e.g. "/api"). This exposes the
    backend's API to browsers; set `NetworkPolicyProps.ingress_namespace` too. Default: none,
    the backend is reachable inside the cluster only."""

    def validate(self) -> None:
        """Fail early, showing the bad value."""
        super().validate()
        if self.ai_provider not in AI_PROVIDERS:
            raise ValueError(
                f"'ai_provider' must be one of {sorted(AI_PROVIDERS)}, got '{self.ai_provider}'"
            )
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"'log_level' must be one of {LOG_LEVELS}, got '{self.log_level}'")
        if self.public_path and (not self.public_path.startswith("/") or self.public_path == "/"):
            raise ValueError(
                f"'public_path' must be a path prefix below '/', e.g. '/api', got "
                f"'{self.public_path}'"
            )
        for name in ("chat_turns_per_minute", "chat_concurrent_turns"):
            if getattr(self, name) < 1:
                raise ValueError(f"'{name}' must be >= 1, got {getattr(self, name)}")
        if self.ai_timeout_seconds < 1:
            raise ValueError(f"'ai_timeout_seconds' must be >= 1, got {self.ai_timeout_seconds}")


class Backend(Workload):
    """The backend Deployment, Service and friends; see `Workload` for the children."""

    def __init__(self, scope: Construct, id: str, *, secrets: Secrets, props: BackendProps) -> None:
        props.validate()
        values = (
            props.ai_provider,
            props.ai_model,
            str(props.ai_timeout_seconds),
            props.log_level,
            str(props.chat_turns_per_minute),
            str(props.chat_concurrent_turns),
            props.ai_base_url,
        )
        config = {key: value for key, value in zip(CONFIG_KEYS, values, strict=True) if value}
        super().__init__(
            scope,
            id,
            component="backend",
            port=PORT,
            variables=VARIABLES,
            props=props,
            config=config,
            secrets=secrets,
            secret_keys={
                key: key for key in (DATABASE_URL, BETTER_AUTH_SECRET, AI_KEYS[props.ai_provider])
            },
        )
        self.public_path = props.public_path
