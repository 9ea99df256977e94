"""Build the chart from the current code once, and render it with Helm 4 and Helm 3."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CACHE", Path.home() / ".cache" / "todo-chatbot"))
VERSION = (ROOT / "VERSION").read_text().strip()
"""The chart's version and appVersion (the images' default tag)."""
HELMS = {"helm4": "helm", "helm3": "helm3"}
"""Helm 4 is the pinned default; Helm 3 is what many operators still run."""

pytestmark = pytest.mark.chart


def tool_path(name: str) -> str:
    """A tool installed by `make setup` into $CACHE/bin (or on PATH)."""
    path = shutil.which(name, path=f"{CACHE / 'bin'}{os.pathsep}{os.environ['PATH']}")
    if path is None:
        pytest.fail(f"{name} is not installed; run `make setup`")
    return path


def build_chart(out: Path) -> Path:
    """cdk8s synth of main.py + the post-step, into `out`; returns the chart folder."""
    env = {**os.environ, "CDK8S_OUTDIR": str(out)}
    subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "todo_chatbot.helm_chart",
            str(out / "todo-chatbot.k8s.yaml"),
            "--version",
            VERSION,
            "--out",
            str(out / "todo-chatbot"),
        ],
        check=True,
        capture_output=True,
    )
    return out / "todo-chatbot"


@pytest.fixture(scope="session")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_chart(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def credentials() -> dict[str, str]:
    """Secret values generated for this run only, so a leak is recognisable."""
    return {
        "databaseUrl": f"postgresql://todo:{secrets.token_urlsafe(18)}@db.example:5432/todo"
        "?sslmode=require",
        "betterAuthSecret": secrets.token_urlsafe(40),
        "openaiApiKey": "sk-" + secrets.token_urlsafe(24),
        "geminiApiKey": "gm-" + secrets.token_urlsafe(24),
    }


class HelmError(Exception):
    """Helm refused to render; the message is Helm's stderr."""


@pytest.fixture(params=sorted(HELMS), scope="session")
def helm(request: pytest.FixtureRequest) -> str:
    return tool_path(HELMS[request.param])


Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture
def render(helm: str, chart_dir: Path, tmp_path: Path, credentials: dict[str, str]) -> Render:
    """`helm template` with values (managed secrets unless overridden); returns the objects."""

    def run(
        values: dict[str, Any] | None = None,
        *,
        release: str = "todo",
        with_credentials: bool = True,
        extra: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        merged: dict[str, Any] = {"secrets": dict(credentials)} if with_credentials else {}
        for key, value in (values or {}).items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        values_file = tmp_path / "values.yaml"
        values_file.write_text(yaml.safe_dump(merged))
        result = subprocess.run(
            [helm, "template", release, str(chart_dir), "-f", str(values_file), *(extra or [])],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise HelmError(result.stderr)
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return run
