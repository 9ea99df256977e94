"""The local OCI registry (Debian's docker-registry) every image of the cluster comes from."""

from __future__ import annotations

from . import settings, supervisor
from .render import render
from .settings import Paths

URL = f"http://127.0.0.1:{settings.PORTS.registry}"


def start(paths: Paths) -> None:
    """Start the registry on loopback with its storage in the cache folder; wait for /v2/."""
    config = render(
        paths,
        "registry.yml",
        paths.config / "registry.yml",
        # Under the cache, not the state: pushed layers survive `down`, so a warm `up` skips them.
        storage=paths.cache / "registry",
        port=settings.PORTS.registry,
        debug_port=settings.PORTS.registry_debug,
    )
    supervisor.start(paths, supervisor.Process("registry", ["docker-registry", "serve", config]))
    supervisor.wait_healthy(
        paths, "registry", lambda: supervisor.http_ok(f"{URL}/v2/"), timeout_seconds=30
    )
