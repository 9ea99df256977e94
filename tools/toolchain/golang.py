"""The Go toolchain: its environment, the module proxy, and `go install` with a package count."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from .cache import cache_dir
from .progress import Progress, run, watch


@functools.cache
def go_version() -> str:
    """Return `go version` of the Go that builds the tools (part of every recipe)."""
    if shutil.which("go") is None:
        sys.exit("gotools: 'go' is not on PATH; install Go 1.26 first")
    result = subprocess.run(["go", "version"], check=True, capture_output=True, text=True)
    return result.stdout.strip()


def go_env(*, cgo: bool) -> dict[str, str]:
    """Return the environment of every `go` run: caches under $CACHE, the local toolchain only."""
    go_root = cache_dir() / "go"
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(go_root / "mod"),
        GOCACHE=str(go_root / "build"),
        GOPATH=str(go_root / "path"),
        # The machine's Go is the only one available offline; never fetch another.
        GOTOOLCHAIN="local",
        GOFLAGS="-buildvcs=false -mod=readonly",
        CGO_ENABLED="1" if cgo else "0",
    )
    return env


# `go build -v` prints each package's import path alone on a line as it compiles it; every
# other line (`go: downloading ...`, `# package` before a compiler message) has a space or `#`.
GO_PACKAGE_LINE = re.compile(r"[A-Za-z0-9_.~+/-]+")


class PackageCount(Progress):
    """Count the packages `go build -v` compiles, out of the `total` it has to compile.

    `total` is None when it could not be listed; the count alone is shown then.
    """

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.done = 0

    def feed(self, line: str) -> None:
        """Count a line that names a compiled package."""
        if GO_PACKAGE_LINE.fullmatch(line.strip()):
            self.done += 1

    def describe(self) -> str:
        """Return `compiled/total packages`, or that linking is left once all compiled."""
        if self.total is None:
            return f"packages compiled: {self.done}"
        if self.done >= self.total:
            return f"all {self.total} packages compiled, linking"
        return f"{self.done}/{self.total} packages"


def module_info(module: str, version: str) -> dict[str, str]:
    """Download a module into the module cache and return `go mod download -json` for it."""
    out = run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        what=f"download {module}@{version}",
        env=go_env(cgo=False),
        cwd=Path(tempfile.gettempdir()),
    )
    info: dict[str, str] = json.loads(out)
    return info


def required_version(go_mod: Path, module: str) -> str:
    """Return the version that a go.mod file requires of `module`."""
    for line in go_mod.read_text().splitlines():
        words = line.replace("require", "").split()
        if len(words) >= 2 and words[0] == module:
            return words[1]
    raise ValueError(f"{go_mod} does not require {module}")


def command_name(package: str) -> str:
    """Return the name Go gives a package's binary: its last element, skipping a /vN suffix."""
    elements = package.split("/")
    if len(elements) > 1 and re.fullmatch(r"v[0-9]+", elements[-1]):
        return elements[-2]
    return elements[-1]


def count_to_compile(
    packages: Sequence[str], *, what: str, env: dict[str, str], cwd: Path
) -> int | None:
    """Return how many packages a build of `packages` compiles, or None when go cannot list them.

    `go list` with the build's environment and -trimpath marks a package stale when the build
    cache lacks it: exactly the packages `go build -v` then prints. (In a module's own folder
    for `go install pkg@version`, that module's packages look stale even when cached, so a
    partly cached rebuild may finish below the count.)
    """
    result = watch(
        [
            "go",
            "list",
            "-trimpath",
            "-deps",
            "-f",
            "{{if .Stale}}{{.ImportPath}}{{end}}",
            *packages,
        ],
        what=f"list the packages {what} compiles",
        env=env,
        cwd=cwd,
    )
    if result.returncode != 0:
        return None
    return sum(1 for line in result.stdout.splitlines() if GO_PACKAGE_LINE.fullmatch(line))


def go_install(
    module: str, package: str, version: str, out_dir: Path, *, ldflags: Sequence[str]
) -> None:
    """Build `package@version` of `module` statically as its own module (checked by sumdb)."""
    env = go_env(cgo=False)
    what = f"go install {package}@{version}"
    source = Path(module_info(module, version)["Dir"])
    relative = package.removeprefix(module).lstrip("/")
    total = count_to_compile([f"./{relative}"], what=what, env=env, cwd=source)
    env["GOBIN"] = str(out_dir)
    run(
        [
            "go",
            "install",
            "-v",
            "-trimpath",
            "-ldflags",
            " ".join(["-s", "-w", *ldflags]),
            f"{package}@{version}",
        ],
        what=what,
        env=env,
        cwd=Path(tempfile.gettempdir()),
        log_file=build_log(command_name(package), version),
        progress=PackageCount(total),
    )


def build_log(name: str, version: str) -> Path:
    """Return where the output of the last build of `name` `version` is kept."""
    return cache_dir() / "tools" / "logs" / f"{name}-{version}.log"


def release_date(module: str, version: str) -> str:
    """Return the tag time of a module version: a reproducible build date."""
    info = module_info(module, version)
    published = json.loads(Path(info["Info"]).read_text())["Time"]
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.strptime(published[:19], "%Y-%m-%dT%H:%M:%S"))
