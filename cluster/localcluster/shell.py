"""Run host commands, turning a failure into a one-line ClusterError."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import ClusterError


def run(
    argv: Sequence[str | Path],
    *,
    input_text: str | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run a command and capture its output.

    With `check` a non-zero exit raises ClusterError carrying the command and the last line the
    command printed on stderr, which is where every tool used here states its reason.
    """
    args = [str(a) for a in argv]
    try:
        result = subprocess.run(
            args,
            input=input_text,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ClusterError(f"{args[0]} is not installed: run `make setup-cluster`") from exc
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"`{' '.join(args[:3])}` did not finish in {timeout:.0f}s") from exc
    if check and result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        # Helm and kubectl end with a hint ("Use --debug flag ..."); their `Error:` line says why.
        errors = [line for line in lines if line.startswith("Error:")]
        reason = (errors or lines or [f"exit status {result.returncode}"])[-1]
        raise ClusterError(f"`{' '.join(args[:4])}` failed: {reason}")
    return result


def output(argv: Sequence[str | Path], *, timeout: float = 120) -> str:
    """Run a command that must succeed and return its standard output."""
    return run(argv, timeout=timeout).stdout
