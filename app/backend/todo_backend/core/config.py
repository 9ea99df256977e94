"""The backend's settings (docs/contract.md), read from environment variables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator
from todo_common.config import (
    AuthSecret,
    CommonSettings,
    DatabaseUrl,
    SecretText,
)
from todo_contract import AI_PROVIDERS

# pydantic checks the `Literal`; mypy cannot read one of a tuple, so it checks a plain string.
if TYPE_CHECKING:
    AIProvider = str
else:
    AIProvider = Literal[AI_PROVIDERS]

PROVIDER_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/openai",
}
PROVIDER_KEY_VARIABLES = {"openai": "OPENAI_API_KEY", "gemini": "GEMINI_API_KEY"}


class Settings(CommonSettings):
    """Backend settings; load them with `todo_common.config.load_settings(Settings)`."""

    PORT: int = Field(default=8000, ge=1, le=65535)
    DATABASE_URL: DatabaseUrl
    BETTER_AUTH_SECRET: AuthSecret
    AI_PROVIDER: AIProvider
    AI_MODEL: str = Field(min_length=1, max_length=200, pattern=r"^\S+$")
    # Unset: the provider's public OpenAI-compatible endpoint (PROVIDER_BASE_URLS).
    AI_BASE_URL: AnyHttpUrl | None = None
    AI_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0, le=600)
    # A whole chat turn (up to 5 provider calls); below the frontend's CHAT_TIMEOUT_SECONDS
    # (60), so the user hears how a turn ended before the frontend gives up on it.
    CHAT_TURN_TIMEOUT_SECONDS: float = Field(default=50.0, gt=0, le=600)
    # Per user and replica, since every turn costs the AI provider's fees: turns started in
    # any minute, and turns running at once; over either, 429 with Retry-After.
    CHAT_TURNS_PER_MINUTE: int = Field(default=10, ge=1, le=10_000)
    CHAT_CONCURRENT_TURNS: int = Field(default=2, ge=1, le=1_000)
    # Only the key of AI_PROVIDER is required; the other one is ignored.
    OPENAI_API_KEY: SecretText | None = None
    GEMINI_API_KEY: SecretText | None = None
    # /docs, /redoc and /openapi.json map the whole API for whoever reaches the backend.
    API_DOCS: bool = False
    # JWKS mode (todo_backend.core.tokens): tokens signed by the frontend's key pair (Better
    # Auth's JWT plugin), checked against its key set and for this issuer and audience; unset,
    # HS256 tokens signed with BETTER_AUTH_SECRET.
    AUTH_JWKS_URL: AnyHttpUrl | None = None
    AUTH_JWT_ISSUER: str | None = Field(default=None, min_length=1)
    AUTH_JWT_AUDIENCE: str | None = Field(default=None, min_length=1)
    # Least time between two key set fetches forced by unknown key ids; a key the frontend
    # rotated in may wait this long to be accepted.
    AUTH_JWKS_COOLDOWN_SECONDS: float = Field(default=30.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _require_provider_key(self) -> Self:
        variable = PROVIDER_KEY_VARIABLES[self.AI_PROVIDER]
        if getattr(self, variable) is None:
            raise ValueError(f"{variable} is missing (AI_PROVIDER={self.AI_PROVIDER} needs it)")
        return self

    @model_validator(mode="after")
    def _require_jwt_claims(self) -> Self:
        if self.AUTH_JWKS_URL is not None:
            for variable in ("AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE"):
                if getattr(self, variable) is None:
                    raise ValueError(f"{variable} is missing (AUTH_JWKS_URL needs it)")
        return self

    @property
    def ai_api_key(self) -> SecretStr:
        """The API key of the chosen provider."""
        key: SecretStr = getattr(self, PROVIDER_KEY_VARIABLES[self.AI_PROVIDER])
        return key

    @property
    def ai_base_url(self) -> str:
        """The OpenAI-compatible base URL, without a trailing slash."""
        if self.AI_BASE_URL is not None:
            return str(self.AI_BASE_URL).rstrip("/")
        return PROVIDER_BASE_URLS[self.AI_PROVIDER]
