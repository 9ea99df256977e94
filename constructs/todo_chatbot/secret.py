"""The Secret that holds the app's credentials: managed here, created out of band, or synced
from a secret store by the External Secrets Operator."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import cdk8s_plus_28 as kplus
from cdk8s import ApiObjectMetadata

from constructs import Construct

from .choices import AI_PROVIDERS, MIN_AUTH_SECRET_LENGTH
from .external_secret import ExternalSecret, ExternalSecretProps
from .labels import Labels

DATABASE_URL = "DATABASE_URL"
FRONTEND_DATABASE_URL = "FRONTEND_DATABASE_URL"
"""Key of the frontend's own database URL (its role owns only the sign-in tables); the
frontend reads it as its DATABASE_URL."""
BETTER_AUTH_SECRET = "BETTER_AUTH_SECRET"
AI_KEYS = {provider: f"{provider.upper()}_API_KEY" for provider in AI_PROVIDERS}
"""Secret key (and variable) of each provider's API key, e.g. OPENAI_API_KEY."""
OPENAI_API_KEY = AI_KEYS["openai"]
GEMINI_API_KEY = AI_KEYS["gemini"]
SECRET_KEYS = (
    DATABASE_URL,
    FRONTEND_DATABASE_URL,
    BETTER_AUTH_SECRET,
    OPENAI_API_KEY,
    GEMINI_API_KEY,
)
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
"""What Kubernetes accepts as a key of a Secret."""


@dataclass(frozen=True, kw_only=True)
class SecretsProps:
    """Where the credentials come from.

    Either `existing_secret` names a Secret created out of band (kubectl,
    Sealed Secrets) and nothing is created, or `external_secret` has the External
    Secrets Operator create it from a secret store, or the values below build a
    managed Secret. Error messages name a key, never its value.
    """

    name: str | None = None
    """Name of the managed Secret; default: "<labels.instance>"."""
    labels: Labels = Labels()
    """Standard labels; default: instance "todo-chatbot"."""
    existing_secret: str | None = None
    """Existing Secret to reference; default: a managed Secret from the values below."""
    external_secret: ExternalSecretProps | None = None
    """An ExternalSecret that creates the Secret (named as the managed one) from a secret store,
    instead of the values below; default: none."""
    existing_secret_frontend_database_url: bool = False
    """The existing Secret also holds FRONTEND_DATABASE_URL, the frontend's own URL;
    default: no, the frontend uses DATABASE_URL."""
    database_url: str | None = None
    """PostgreSQL URL (`postgresql://...`); required for a managed Secret."""
    frontend_database_url: str | None = None
    """The frontend's own PostgreSQL URL, for a role granted only the sign-in tables;
    default: none, the frontend uses `database_url`."""
    better_auth_secret: str | None = None
    """Key that signs sessions and JWTs, >= 32 characters; required for a managed Secret."""
    openai_api_key: str | None = None
    """OpenAI API key; one AI key is required for a managed Secret."""
    gemini_api_key: str | None = None
    """Gemini API key; one AI key is required for a managed Secret."""
    extra: dict[str, str] = field(default_factory=dict)
    """More keys of the managed Secret (`GROQ_API_KEY: ...`), each given only to the
    components whose `extra_secret_keys` name it; default: none."""


class Secrets(Construct):
    """The app's credentials as a Kubernetes Secret, handed out key by key.

    Components call `env_value(key)` to get a `secretKeyRef` for just the keys
    they need, so the frontend never holds the AI key.
    """

    def __init__(self, scope: Construct, id: str, *, props: SecretsProps) -> None:
        super().__init__(scope, id)
        self.resource: kplus.ISecret
        if props.existing_secret is not None and props.external_secret is not None:
            raise ValueError(
                "'existing_secret' and 'external_secret' both name the Secret; set one"
            )
        if props.existing_secret is not None:
            if not props.existing_secret:
                raise ValueError("'existing_secret' must be a Secret name, got an empty string")
            self.resource = kplus.Secret.from_secret_name(self, "Resource", props.existing_secret)
            # Its keys are known only to the cluster: any key is taken on trust.
            self.keys: frozenset[str] | None = None
            self.frontend_database_key = (
                FRONTEND_DATABASE_URL
                if props.existing_secret_frontend_database_url
                else DATABASE_URL
            )
            return
        name = props.name or props.labels.instance
        if props.external_secret is not None:
            keys = _validated_remote_keys(props.external_secret)
            ExternalSecret(
                self,
                "ExternalSecret",
                secret_name=name,
                props=dataclasses.replace(props.external_secret, labels=props.labels),
            )
            # The operator creates the Secret; the pods only reference it.
            self.resource = kplus.Secret.from_secret_name(self, "Resource", name)
            self.keys = keys
            self.frontend_database_key = (
                FRONTEND_DATABASE_URL if FRONTEND_DATABASE_URL in keys else DATABASE_URL
            )
            return
        data = _validated_data(props)
        self.resource = kplus.Secret(
            self,
            "Resource",
            metadata=ApiObjectMetadata(name=name, labels=props.labels.of("secrets")),
            string_data=data,
        )
        self.keys = frozenset(data)
        self.frontend_database_key = (
            FRONTEND_DATABASE_URL if FRONTEND_DATABASE_URL in data else DATABASE_URL
        )

    @property
    def name(self) -> str:
        """Name of the Secret the pods read."""
        return self.resource.name

    def env_value(self, key: str) -> kplus.EnvValue:
        """A `secretKeyRef` to one key; fails early for a key this Secret lacks."""
        if self.keys is not None and key not in self.keys:
            raise ValueError(f"secret has no key '{key}'; it has {sorted(self.keys)}")
        return kplus.EnvValue.from_secret_value(
            kplus.SecretValue(secret=self.resource, key=key), optional=False
        )


def _validated_remote_keys(external: ExternalSecretProps) -> frozenset[str]:
    keys = frozenset(external.remote_refs)
    for key in sorted(keys):
        if not SECRET_KEY.match(key):
            raise ValueError(
                f"'remote_refs' keys must be Secret keys ([-._a-zA-Z0-9]), got '{key}'"
            )
    for key in (DATABASE_URL, BETTER_AUTH_SECRET):
        if key not in keys:
            raise ValueError(f"'remote_refs' must map {key}, got {sorted(keys)}")
    if not keys & set(AI_KEYS.values()):
        raise ValueError(
            f"'remote_refs' must map one of {sorted(AI_KEYS.values())}, got {sorted(keys)}"
        )
    return keys


def _validated_data(props: SecretsProps) -> dict[str, str]:
    if not props.database_url:
        raise ValueError("'database_url' is required for a managed Secret")
    for name, url in (
        ("database_url", props.database_url),
        ("frontend_database_url", props.frontend_database_url),
    ):
        if url is not None and not url.startswith(("postgres://", "postgresql://")):
            raise ValueError(f"'{name}' must start with postgresql:// (value not shown)")
    if not props.better_auth_secret:
        raise ValueError("'better_auth_secret' is required for a managed Secret")
    if len(props.better_auth_secret) < MIN_AUTH_SECRET_LENGTH:
        raise ValueError(
            f"'better_auth_secret' must be at least {MIN_AUTH_SECRET_LENGTH} "
            f"characters, got {len(props.better_auth_secret)}"
        )
    ai_keys = {OPENAI_API_KEY: props.openai_api_key, GEMINI_API_KEY: props.gemini_api_key}
    if not any(ai_keys.values()):
        raise ValueError("one of 'openai_api_key' or 'gemini_api_key' is required")
    data = {DATABASE_URL: props.database_url, BETTER_AUTH_SECRET: props.better_auth_secret}
    if props.frontend_database_url is not None:
        data[FRONTEND_DATABASE_URL] = props.frontend_database_url
    data.update({key: value for key, value in ai_keys.items() if value})
    for key, value in props.extra.items():
        if not SECRET_KEY.match(key) or key in SECRET_KEYS:
            raise ValueError(
                f"'extra' keys must be Secret keys ([-._a-zA-Z0-9]) other than {list(SECRET_KEYS)}"
                f", got '{key}'"
            )
        if not value:
            raise ValueError(f"'extra.{key}' must not be empty")
        data[key] = value
    return data
