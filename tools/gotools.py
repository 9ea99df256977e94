"""Build the project's pinned Go tools from the Go module proxy into $CACHE/bin.

Usage: python3 tools/gotools.py helm|cluster|all [--force]

Nothing is downloaded as a prebuilt binary (no such site is reachable): every tool is compiled
here with the installed Go from modules served by the Go module proxy. Each tool is built into
$CACHE/tools/<name>-<version>/ and linked from $CACHE/bin, so a version bump rebuilds while an
unchanged pin is a no-op. A stamp in that folder records the exact build recipe (Go version,
flags, wrapper go.mod/go.sum); when the recipe changes the tool is rebuilt too. The module and
build caches live under $CACHE/go so that a rebuild compiles only what changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WRAPPERS = REPO / "tools" / "go"

# Current Helm 4 release served by the Go module proxy; the project's default `helm`.
HELM_VERSION = "v4.3.1"
# Newest Helm 3 release served, installed as `helm3` to check the chart still works with Helm 3.
HELM3_VERSION = "v3.22.0"

HEARTBEAT_SECONDS = 15


def cache_dir() -> Path:
    """Return the project's build cache, $CACHE or ~/.cache/todo-chatbot."""
    return Path(os.environ.get("CACHE") or Path.home() / ".cache" / "todo-chatbot")


@dataclass(frozen=True)
class Tool:
    """One pinned tool: how to build its binaries and how to check the result.

    `links` maps a name in $CACHE/bin to a binary in the tool's folder (several tools install
    under another name, such as Helm 3 as `helm3`). `build` compiles every binary into the
    folder it is given; `recipe` is everything besides the version that shapes the binaries.
    `version_args` runs each linked binary to prove it prints `version`.
    """

    name: str
    version: str
    links: dict[str, str]
    build: Callable[[Path], None]
    recipe: Sequence[str]
    version_args: Sequence[str] = ("--version",)
    version_args_by_binary: dict[str, Sequence[str]] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder that holds this version's binaries."""
        return cache_dir() / "tools" / f"{self.name}-{self.version}"

    def recipe_digest(self) -> str:
        """Hash the version, the Go toolchain and the recipe: any change means a rebuild."""
        text = "\n".join([self.name, self.version, go_version(), *self.recipe])
        return hashlib.sha256(text.encode()).hexdigest()


def log(message: str) -> None:
    """Print one progress line at once (make and CI show it while the build runs)."""
    print(f"[gotools] {message}", flush=True)


_GO_VERSION: list[str] = []


def go_version() -> str:
    """Return `go version` of the Go that builds the tools (part of every recipe)."""
    if not _GO_VERSION:
        if shutil.which("go") is None:
            sys.exit("gotools: 'go' is not on PATH; install Go 1.26 first")
        _GO_VERSION.append(
            subprocess.run(["go", "version"], check=True, capture_output=True, text=True).stdout
        )
    return _GO_VERSION[0].strip()


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


def run(
    command: Sequence[str], *, what: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> str:
    """Run a command, print a heartbeat while it runs, and fail with its output if it fails.

    Output is collected rather than streamed: a Kubernetes build is silent when it succeeds
    and its errors are what matters when it fails.
    """
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, text=True
        )
        done = threading.Event()

        def heartbeat() -> None:
            while not done.wait(HEARTBEAT_SECONDS):
                log(f"  ... {what}: {time.monotonic() - started:.0f} s")

        beater = threading.Thread(target=heartbeat, daemon=True)
        beater.start()
        try:
            returncode = process.wait()
        finally:
            done.set()
            beater.join()
        output.seek(0)
        text = output.read()
    if returncode != 0:
        sys.stderr.write(text)
        sys.exit(f"gotools: {what} failed (exit {returncode}): {' '.join(command)}")
    return text


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


def go_install(
    package: str, version: str, out_dir: Path, *, ldflags: Sequence[str], cgo: bool = False
) -> None:
    """Build `package@version` as its own module (its go.mod and go.sum, checked by sumdb)."""
    env = go_env(cgo=cgo)
    env["GOBIN"] = str(out_dir)
    run(
        [
            "go",
            "install",
            "-trimpath",
            "-ldflags",
            " ".join(["-s", "-w", *ldflags]),
            f"{package}@{version}",
        ],
        what=f"go install {package}@{version}",
        env=env,
        cwd=Path(tempfile.gettempdir()),
    )


# ---- helm -------------------------------------------------------------------------------------


def helm_ldflags(major: str, version: str) -> list[str]:
    """Return the -X flags of Helm's Makefile for a release build of `version`.

    The git commit is not known offline (the module proxy does not serve it), so it stays
    empty; the tree is clean because it is the tagged module's source.
    """
    base = f"helm.sh/helm/{major}"
    flags = [
        f"-X {base}/internal/version.version={version}",
        f"-X {base}/internal/version.metadata=",
        f"-X {base}/internal/version.gitTreeState=clean",
    ]
    if major == "v3":
        # Helm 3 takes its default .Capabilities.KubeVersion from these flags (it would say
        # v1.20 without them); Helm's Makefile derives them from client-go: v0.X.Y -> v1.X.
        info = module_info(base, version)
        client_go = required_version(Path(info["GoMod"]), "k8s.io/client-go")
        minor = client_go.split(".")[1]
        for package in ("pkg/lint/rules", "pkg/chartutil"):
            flags += [
                f"-X {base}/{package}.k8sVersionMajor=1",
                f"-X {base}/{package}.k8sVersionMinor={minor}",
            ]
    return flags


def helm_tool(name: str, major: str, version: str, link: str) -> Tool:
    """Describe Helm `version` installed in $CACHE/bin as `link`."""

    def build(out_dir: Path) -> None:
        go_install(
            f"helm.sh/helm/{major}/cmd/helm", version, out_dir, ldflags=helm_ldflags(major, version)
        )

    return Tool(
        name=name,
        version=version,
        links={link: "helm"},
        build=build,
        recipe=["go install -trimpath", "ldflags: helm Makefile release flags"],
        version_args=("version", "--short"),
    )


HELM_TOOLS = [
    helm_tool("helm", "v4", HELM_VERSION, "helm"),
    helm_tool("helm3", "v3", HELM3_VERSION, "helm3"),
]

GROUPS: dict[str, list[Tool]] = {
    "helm": HELM_TOOLS,
}
GROUPS["all"] = [tool for group in list(GROUPS.values()) for tool in group]


# ---- installing -------------------------------------------------------------------------------


def is_current(tool: Tool) -> bool:
    """Tell whether the tool's folder holds a complete build of the current recipe."""
    stamp = tool.folder / ".recipe"
    return stamp.is_file() and stamp.read_text().strip() == tool.recipe_digest()


def check_version(tool: Tool, binary: Path) -> str:
    """Run the binary's version command and fail unless it prints the pinned version."""
    args = tool.version_args_by_binary.get(binary.name, tool.version_args)
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)
    printed = (result.stdout + result.stderr).strip()
    if tool.version.lstrip("v") not in printed:
        sys.exit(
            f"gotools: {binary} {' '.join(args)} printed {printed!r}, "
            f"expected version {tool.version}"
        )
    return printed.splitlines()[0] if printed else ""


def link(tool: Tool) -> None:
    """Point $CACHE/bin/<link> at the tool's binaries (relative links survive a moved cache)."""
    bin_dir = cache_dir() / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for link_name, binary in tool.links.items():
        target = Path(os.path.relpath(tool.folder / binary, bin_dir))
        path = bin_dir / link_name
        if path.is_symlink() and Path(os.readlink(path)) == target:
            continue
        staged = bin_dir / f".{link_name}.new"
        staged.unlink(missing_ok=True)
        staged.symlink_to(target)
        staged.replace(path)


def install(tool: Tool, *, force: bool) -> None:
    """Build the tool unless its current recipe is already built, check it, and link it."""
    if is_current(tool) and not force:
        link(tool)
        return
    log(f"building {tool.name} {tool.version} -> {tool.folder}")
    started = time.monotonic()
    tool.folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{tool.name}-", dir=tool.folder.parent))
    try:
        tool.build(staging)
        for binary in tool.links.values():
            if not (staging / binary).is_file():
                sys.exit(f"gotools: building {tool.name} produced no {binary}")
        # Check the binaries before they replace a working version.
        printed = [check_version(tool, staging / binary) for binary in set(tool.links.values())]
        (staging / ".recipe").write_text(tool.recipe_digest() + "\n")
        if tool.folder.exists():
            shutil.rmtree(tool.folder)
        staging.rename(tool.folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    link(tool)
    log(f"built {tool.name} {tool.version} in {time.monotonic() - started:.0f} s: {printed[0]}")


def main(argv: Sequence[str] | None = None) -> None:
    """Build the tools of the group named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", choices=sorted(GROUPS), help="which tools to build")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    started = time.monotonic()
    for tool in GROUPS[args.group]:
        install(tool, force=args.force)
    log(f"{args.group}: ready in {cache_dir() / 'bin'} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
