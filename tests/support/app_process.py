"""Real app processes for tests: `python -m <module>` on a free loopback port.

`AppProcess` starts one of the reference app's entry points exactly as its image does
(`python -m todo_frontend`, configured only by environment variables), waits until
`/readyz` answers 200, and stops it with SIGTERM like Kubernetes does. Its output (JSON
log lines on stdout, the config error on stderr) is kept in a file for assertions.

    with AppProcess.started("todo_frontend", env={...}, log_dir=tmp_path) as frontend:
        httpx.get(frontend.url + "/healthz")
        ...
    frontend.output()           # everything it printed
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from support.postgres import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where each image finds its packages (the Dockerfiles set the same PYTHONPATH).
APP_PYTHONPATH = [
    REPO_ROOT / "app" / "common",
    REPO_ROOT / "app" / "backend",
    REPO_ROOT / "app" / "frontend",
    REPO_ROOT / "app",
]


class AppProcess:
    """One app process; restartable on the same port (to test outages and recovery)."""

    def __init__(
        self,
        module: str,
        *,
        env: Mapping[str, str],
        log_dir: Path,
        port: int | None = None,
        args: Sequence[str] = (),
        ready_path: str = "/readyz",
    ) -> None:
        """Prepare (but do not start) `python -m module *args` with `env`, `PORT`, `METRICS_PORT`.

        `args` may use `{port}`. Output goes to a new file in `log_dir` (a pytest `tmp_path`).
        """
        self.module = module
        self.ready_path = ready_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.metrics_port = free_port()
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}"
        self.args = [arg.format(port=self.port) for arg in args]
        self.env = {
            # Only what Python needs from the test runner's environment: the app must be
            # configured by the variables the test gives, like in its image.
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(str(path) for path in APP_PYTHONPATH),
            "PYTHONUNBUFFERED": "1",
            "PORT": str(self.port),
            "METRICS_PORT": str(self.metrics_port),
            **env,
        }
        self._log = Path(tempfile.mkstemp(prefix=f"{module}-", suffix=".log", dir=log_dir)[1])
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    @contextlib.contextmanager
    def started(
        cls, module: str, *, env: Mapping[str, str], log_dir: Path, **options: Any
    ) -> Iterator[AppProcess]:
        """Start the app (`options` as for the constructor), wait until ready, yield, stop."""
        app = cls(module, env=env, log_dir=log_dir, **options)
        try:
            app.start()
            yield app
        finally:
            app.stop()

    @property
    def returncode(self) -> int | None:
        """The exit code, or `None` while it runs (or before it started)."""
        return None if self._process is None else self._process.poll()

    def start(self, *, wait_ready: bool = True, timeout_seconds: float = 30) -> None:
        """Start the process; unless told otherwise, wait until it is ready."""
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                env=self.env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait_ready:
            self.wait_ready(timeout_seconds=timeout_seconds)

    def wait_ready(self, *, timeout_seconds: float = 30) -> None:
        """Wait until `ready_path` answers 200; fail with the app's output if it never does."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.returncode is not None:
                raise RuntimeError(f"{self.module} exited with {self.returncode}:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.module} not ready in {timeout_seconds} s:\n{self.output()}")

    def wait_exit(self, *, timeout_seconds: float = 30) -> int:
        """Wait for the process to end by itself; return its exit code."""
        assert self._process is not None, "not started"
        return self._process.wait(timeout=timeout_seconds)

    def terminate(self) -> None:
        """Send SIGTERM (what Kubernetes sends) without waiting."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)

    def stop(self, *, timeout_seconds: float = 30) -> int | None:
        """SIGTERM, then wait (SIGKILL after `timeout_seconds`); return the exit code."""
        if self._process is None:
            return None
        self.terminate()
        try:
            return self._process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait()

    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        return self._log.read_text(errors="replace")


def assert_probes_pass(client: httpx.Client) -> None:
    """Both probes of a ready app answer 200 with the contract's bodies (docs/contract.md)."""
    live = client.get("/healthz")
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
