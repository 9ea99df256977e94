"""Backend configuration: fail fast with one line naming the variable, never its value."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable

import pytest
from support.app_process import APP_PYTHONPATH, REPO_ROOT
from support.secret import Secret
from todo_backend.core.config import Settings
from todo_common.config import load_settings

pytestmark = pytest.mark.app

VARIABLES = [
    "DATABASE_URL",
    "BETTER_AUTH_SECRET",
    "AI_PROVIDER",
    "AI_MODEL",
    "AI_BASE_URL",
    "AI_TIMEOUT_SECONDS",
    "CHAT_TURN_TIMEOUT_SECONDS",
    "CHAT_TURNS_PER_MINUTE",
    "CHAT_CONCURRENT_TURNS",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "LOG_LEVEL",
    "INSTANCE_NAME",
    "PORT",
    "METRICS_PORT",
    "SHUTDOWN_DRAIN_SECONDS",
    "AUTH_JWKS_URL",
    "AUTH_JWT_ISSUER",
    "AUTH_JWT_AUDIENCE",
    "AUTH_JWKS_COOLDOWN_SECONDS",
]


def valid_env() -> dict[str, str]:
    password = secrets.token_urlsafe(16)
    return {
        "DATABASE_URL": Secret(f"postgresql://app:{password}@db.example:5432/todo?sslmode=require"),
        "BETTER_AUTH_SECRET": Secret(secrets.token_urlsafe(40)),
        "AI_PROVIDER": "openai",
        "AI_MODEL": "gpt-4o-mini",
        "OPENAI_API_KEY": Secret("sk-" + secrets.token_urlsafe(30)),
    }


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A valid backend environment, applied; tests change it and call `apply`."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return valid_env()


def load(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings(Settings)


Refusal = Callable[[dict[str, str]], str]


@pytest.fixture
def refusal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Refusal:
    """Return `refusal(env)`: load `env`, which must stop the backend with exit code 2 and
    nothing on stdout; return what it printed on stderr."""

    def refuse(env: dict[str, str]) -> str:
        with pytest.raises(SystemExit) as exited:
            load(monkeypatch, env)
        assert exited.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        return captured.err

    return refuse


def test_valid_environment_loads_with_documented_defaults(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    settings = load(monkeypatch, {**environment, "LOG_LEVEL": "WARNING"})
    assert settings.LOG_LEVEL == "warning"
    assert settings.PORT == 8000
    assert settings.METRICS_PORT == 9090
    assert settings.AI_TIMEOUT_SECONDS == 30
    assert settings.CHAT_TURN_TIMEOUT_SECONDS == 50
    assert settings.CHAT_TURNS_PER_MINUTE == 10
    assert settings.CHAT_CONCURRENT_TURNS == 2
    assert settings.SHUTDOWN_DRAIN_SECONDS == 2
    assert settings.ai_base_url == "https://api.openai.com/v1"
    assert settings.ai_api_key.get_secret_value() == environment["OPENAI_API_KEY"]
    assert settings.INSTANCE_NAME  # the host name outside Kubernetes
    assert environment["BETTER_AUTH_SECRET"] not in repr(settings)


def test_gemini_needs_only_its_own_key(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    env = {**environment, "AI_PROVIDER": "gemini", "GEMINI_API_KEY": environment["OPENAI_API_KEY"]}
    del env["OPENAI_API_KEY"]
    settings = load(monkeypatch, env)
    assert settings.ai_base_url == "https://generativelanguage.googleapis.com/v1beta/openai"
    assert settings.ai_api_key.get_secret_value() == env["GEMINI_API_KEY"]


def test_ai_base_url_overrides_the_provider_default(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    settings = load(monkeypatch, {**environment, "AI_BASE_URL": "http://standin:8090/v1/"})
    assert settings.ai_base_url == "http://standin:8090/v1"


@pytest.mark.parametrize(
    ("missing", "line"),
    [
        ("DATABASE_URL", "config error: DATABASE_URL is missing"),
        ("BETTER_AUTH_SECRET", "config error: BETTER_AUTH_SECRET is missing"),
        ("AI_PROVIDER", "config error: AI_PROVIDER is missing"),
        ("AI_MODEL", "config error: AI_MODEL is missing"),
        (
            "OPENAI_API_KEY",
            "config error: OPENAI_API_KEY is missing (AI_PROVIDER=openai needs it)",
        ),
    ],
)
def test_fails_when_a_variable_is_missing(
    refusal: Refusal, environment: dict[str, str], missing: str, line: str
) -> None:
    del environment[missing]
    assert refusal(environment) == line + "\n"


@pytest.mark.parametrize("missing", ["AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE"])
def test_jwks_mode_needs_the_issuer_and_the_audience(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environment: dict[str, str],
    missing: str,
) -> None:
    jwks = {
        "AUTH_JWKS_URL": "http://frontend:3000/api/auth/jwks",
        "AUTH_JWT_ISSUER": "https://todo.example.com",
        "AUTH_JWT_AUDIENCE": "https://todo.example.com",
    }
    del jwks[missing]
    with pytest.raises(SystemExit) as exited:
        load(monkeypatch, {**environment, **jwks})
    assert exited.value.code == 2
    assert (
        capsys.readouterr().err == f"config error: {missing} is missing (AUTH_JWKS_URL needs it)\n"
    )


def test_fails_when_the_metrics_port_is_the_app_port(
    refusal: Refusal, environment: dict[str, str]
) -> None:
    env = {**environment, "PORT": "9100", "METRICS_PORT": "9100"}
    assert refusal(env) == "config error: METRICS_PORT must differ from PORT\n"


def test_fails_when_the_gemini_key_is_missing(
    refusal: Refusal, environment: dict[str, str]
) -> None:
    assert refusal({**environment, "AI_PROVIDER": "gemini"}) == (
        "config error: GEMINI_API_KEY is missing (AI_PROVIDER=gemini needs it)\n"
    )


def test_an_empty_variable_counts_as_missing(refusal: Refusal, environment: dict[str, str]) -> None:
    env = {**environment, "BETTER_AUTH_SECRET": ""}
    assert refusal(env) == "config error: BETTER_AUTH_SECRET is missing\n"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("DATABASE_URL", "mysql://app:{secret}@db:3306/todo", "must start with postgresql://"),
        ("DATABASE_URL", "postgresql://app:{secret}@/todo", "must name a host"),
        ("DATABASE_URL", "postgresql://app:{secret}@db:5432", "must name a database"),
        ("DATABASE_URL", "postgresql://app:{secret}@db:99999/todo", "must be a postgresql://"),
        ("DATABASE_URL", "postgresql://app:changeme@db:5432/todo", "placeholder password"),
        ("BETTER_AUTH_SECRET", "short-{secret}", "at least 32 characters"),
        ("BETTER_AUTH_SECRET", "changeme", "looks like a placeholder"),
        ("BETTER_AUTH_SECRET", "x" * 40, "looks like a placeholder"),
        ("BETTER_AUTH_SECRET", "<replace-me-with-a-long-random-secret>", "placeholder"),
        ("OPENAI_API_KEY", "replace-me", "looks like a placeholder"),
        ("OPENAI_API_KEY", " sk-{secret} ", "must not start or end with whitespace"),
        ("AI_PROVIDER", "claude-{secret}", "Input should be 'openai' or 'gemini'"),
        ("AI_MODEL", "gpt 4 {secret}", "String should match pattern"),
        ("AI_TIMEOUT_SECONDS", "soon-{secret}", "Input should be a valid number"),
        ("AI_TIMEOUT_SECONDS", "0", "Input should be greater than 0"),
        ("CHAT_TURN_TIMEOUT_SECONDS", "-1", "Input should be greater than 0"),
        ("CHAT_TURNS_PER_MINUTE", "0", "Input should be greater than or equal to 1"),
        ("CHAT_CONCURRENT_TURNS", "many-{secret}", "Input should be a valid integer"),
        ("AI_BASE_URL", "ftp://{secret}/v1", "URL scheme should be 'http' or 'https'"),
        ("LOG_LEVEL", "verbose-{secret}", "Input should be 'debug', 'info', 'warning' or 'error'"),
        ("PORT", "http-{secret}", "Input should be a valid integer"),
        ("SHUTDOWN_DRAIN_SECONDS", "-1", "Input should be greater than or equal to 0"),
    ],
)
def test_fails_when_a_variable_is_malformed_without_showing_it(
    refusal: Refusal, environment: dict[str, str], name: str, value: str, reason: str
) -> None:
    secret_part = secrets.token_hex(12)
    bad_value = Secret(value.replace("{secret}", secret_part))
    err = refusal({**environment, name: bad_value})
    assert err.count("\n") == 1
    assert err.startswith(f"config error: {name} is malformed: ")
    assert reason in err
    assert secret_part not in err
    if len(bad_value) >= 6:  # "0" or "-1" may well appear in the explanation
        assert bad_value.strip() not in err


def run_backend(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "todo_backend"],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(str(p) for p in APP_PYTHONPATH),
            **env,
        },
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_process_exits_2_with_one_line_when_a_variable_is_missing() -> None:
    env = valid_env()
    del env["DATABASE_URL"]
    result = run_backend(env)
    assert result.returncode == 2
    assert result.stderr == "config error: DATABASE_URL is missing\n"
    assert result.stdout == ""


def test_process_never_prints_a_malformed_secret() -> None:
    env = valid_env()
    env["BETTER_AUTH_SECRET"] = Secret(secrets.token_urlsafe(12))
    result = run_backend(env)
    assert result.returncode == 2
    assert result.stderr == (
        "config error: BETTER_AUTH_SECRET is malformed: must be at least 32 characters\n"
    )
    for value in env.values():
        assert value not in result.stdout + result.stderr
