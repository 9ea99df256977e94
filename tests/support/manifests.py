"""Helpers to pick objects out of synthesized or rendered manifests."""

from secrets import token_urlsafe
from typing import Any

from todo_chatbot import Backend, BackendProps, FrontendProps, SecretsProps, TodoChatbotProps

Manifest = dict[str, Any]

# Generated per run: no secret-looking value is committed, not even a fake one.
DATABASE_URL = f"postgresql://app:{token_urlsafe(12)}@db.internal/todo?sslmode=require"
AUTH_SECRET = token_urlsafe(32)
AI_KEY = token_urlsafe(16)


def by_kind(manifests: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The one object of `kind` (and `name`, when several exist)."""
    found = [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def all_of(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def selected(manifests: list[Manifest], kind: str, selector: Manifest) -> list[str]:
    """Names of the objects of `kind` whose labels a label selector (`matchLabels` and
    `In` expressions) matches."""
    expressions = selector.get("matchExpressions", [])
    assert {expression["operator"] for expression in expressions} <= {"In"}
    return [
        m["metadata"]["name"]
        for m in all_of(manifests, kind)
        if selector.get("matchLabels", {}).items() <= m["metadata"]["labels"].items()
        and all(
            m["metadata"]["labels"].get(expression["key"]) in expression["values"]
            for expression in expressions
        )
    ]


def container(deployment: Manifest) -> Manifest:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_names(deployment: Manifest) -> set[str]:
    return {var["name"] for var in container(deployment).get("env", [])}


def managed_secrets(**overrides: Any) -> SecretsProps:
    values = {
        "database_url": DATABASE_URL,
        "better_auth_secret": AUTH_SECRET,
        "openai_api_key": AI_KEY,
        **overrides,
    }
    return SecretsProps(**values)


def app_props(**overrides: Any) -> TodoChatbotProps:
    values: dict[str, Any] = {
        "secrets": managed_secrets(),
        "backend": BackendProps(image="registry.example/todo/backend:1.0"),
        "frontend": FrontendProps(image="registry.example/todo/frontend:1.0"),
        **overrides,
    }
    return TodoChatbotProps(**values)


def synth_backend(chart: Any, secrets: Any, **props: Any) -> list[Manifest]:
    """A Backend alone in `chart`, with `props` over a test image."""
    Backend(
        chart,
        "Backend",
        secrets=secrets,
        props=BackendProps(image="registry.example/backend:1", **props),
    )
    return list(chart.to_json())
