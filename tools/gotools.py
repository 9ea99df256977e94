"""Build the project's pinned Go tools from the Go module proxy into $CACHE/bin.

Usage: python3 tools/gotools.py GROUP [--force]
  helm            Helm 4 as `helm` and Helm 3 as `helm3` (make tools, part of make setup)
  cluster         Kubernetes, etcd, CoreDNS, metrics-server, kube-router, Traefik, pause
                  (make cluster-tools)
  kubernetes      only the Kubernetes commands; cluster-addons: the rest of `cluster`
  traefik         only Traefik, the local cluster's ingress controller
  all             helm and cluster

Nothing is downloaded as a prebuilt binary (no such site is reachable): every tool is compiled
here with the installed Go from modules served by the Go module proxy. Each tool is built into
$CACHE/tools/<name>-<version>/ and linked from $CACHE/bin, so a version bump rebuilds while an
unchanged pin is a no-op. A stamp in that folder records the exact build recipe (Go version,
flags, wrapper go.mod/go.sum); when the recipe changes the tool is rebuilt too. The module and
build caches live under $CACHE/go so that a rebuild compiles only what changed.

Before building anything it checks that the machine has the memory and disk the builds
need. A build prints a line every 15 s: the tool (`tool 2/7 etcd`), the packages compiled
of those to compile, and the time so far; its output is kept in $CACHE/tools/logs/.
images/build.py runs its commands through the same `run`.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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
    `version_args` runs each linked binary to prove it prints `version`. `build_memory_gib`
    and `build_disk_gib` are what a build from an empty cache needs (1 GiB each by default).
    """

    name: str
    version: str
    links: dict[str, str]
    build: Callable[[Path], None]
    recipe: Callable[[], list[str]]
    version_args: Sequence[str] = ("--version",)
    version_args_by_binary: dict[str, Sequence[str]] = field(default_factory=dict)
    build_memory_gib: float = 1.0
    build_disk_gib: float = 1.0

    @property
    def folder(self) -> Path:
        """The folder that holds this version's binaries."""
        return cache_dir() / "tools" / f"{self.name}-{self.version}"

    def recipe_digest(self) -> str:
        """Hash the version, the Go toolchain and the recipe: any change means a rebuild."""
        text = "\n".join([self.name, self.version, go_version(), *self.recipe()])
        return hashlib.sha256(text.encode()).hexdigest()


def log(message: str) -> None:
    """Print one progress line at once (make and CI show it while the build runs)."""
    print(f"[gotools] {message}", flush=True)


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


def elapsed(seconds: float) -> str:
    """Return a duration the way the progress lines print it: `42 s` or `12 min 05 s`."""
    whole = int(seconds)
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


class Progress:
    """How far a long command has come, read from its output line by line.

    The base class reports nothing: the heartbeat then shows only the elapsed time.
    """

    def feed(self, line: str) -> None:
        """Take one line of the command's output."""

    def describe(self) -> str:
        """Return how far the command has come, or "" when its output does not say."""
        return ""


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


# The step of the command being run, such as `tool 2/7 kubernetes`, for its heartbeat lines.
STEP: contextvars.ContextVar[str] = contextvars.ContextVar("STEP", default="")


def heartbeat_line(program: str, what: str, step: str, status: str, seconds: float) -> str:
    """Return one heartbeat: `[gotools]   ... go build x (tool 1/7 k): 12/40 packages, 30 s`."""
    where = f" ({step})" if step else ""
    return f"[{program}]   ... {what}{where}: {f'{status}, ' if status else ''}{elapsed(seconds)}"


def watch(
    command: Sequence[str],
    *,
    what: str,
    program: str = "gotools",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_file: Path | None = None,
    progress: Progress | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command and print a heartbeat while it runs; return its exit code and output.

    Every HEARTBEAT_SECONDS a line says what runs (`what`, and the STEP), how far it has come
    (read from its output by `progress`) and for how long, so a command that ends sooner
    prints nothing. The output (stderr included) is collected rather than streamed, since a
    Kubernetes build says nothing worth reading when it succeeds, and is also written to
    `log_file` when given. `program` names the script in the heartbeat lines.
    """
    started = time.monotonic()
    progress = progress or Progress()
    step = STEP.get()
    lines: list[str] = []
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            line = heartbeat_line(
                program, what, step, progress.describe(), time.monotonic() - started
            )
            print(line, flush=True)

    if log_file:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(log_file or os.devnull, "w") as saved,
        subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process,
    ):
        beater = threading.Thread(target=heartbeat, daemon=True)
        beater.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                saved.write(line)
                progress.feed(line)
            returncode = process.wait()
        finally:
            done.set()
            beater.join()
    return subprocess.CompletedProcess(command, returncode, "".join(lines))


def run(
    command: Sequence[str],
    *,
    what: str,
    program: str = "gotools",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_file: Path | None = None,
    progress: Progress | None = None,
) -> str:
    """Run a command like `watch` and return its output; stop with the end of it if it fails.

    The failure is the command's last 40 lines and one line naming what failed, the exit
    code and the full log when there is one.
    """
    result = watch(
        command,
        what=what,
        program=program,
        env=env,
        cwd=cwd,
        log_file=log_file,
        progress=progress,
    )
    if result.returncode != 0:
        sys.stderr.write("".join(result.stdout.splitlines(keepends=True)[-40:]))
        where = f" (full log: {log_file})" if log_file else ""
        sys.exit(f"{program}: {what} failed (exit {result.returncode}){where}: {' '.join(command)}")
    return result.stdout


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
            f"helm.sh/helm/{major}",
            f"helm.sh/helm/{major}/cmd/helm",
            version,
            out_dir,
            ldflags=helm_ldflags(major, version),
        )

    return Tool(
        name=name,
        version=version,
        links={link: "helm"},
        build=build,
        recipe=lambda: ["go install -trimpath", *helm_ldflags(major, version)],
        version_args=("version", "--short"),
        # Measured: Helm 4 and Helm 3 wrote about 3 GiB of module and build cache together.
        build_disk_gib=1.5,
    )


HELM_TOOLS = [
    helm_tool("helm", "v4", HELM_VERSION, "helm"),
    helm_tool("helm3", "v3", HELM3_VERSION, "helm3"),
]


# ---- wrapper modules --------------------------------------------------------------------------


def no_replaces(upstream_go_mod: str) -> dict[str, str]:
    """Replace nothing: the upstream module's requirements resolve as they are."""
    return {}


def no_excludes(upstream_go_mod: str) -> list[str]:
    """Exclude nothing: every version the module graph selects may be used."""
    return []


def go_mod_directives(go_mod: str, verb: str) -> list[str]:
    """Return the bodies of every `verb` directive of a go.mod, one-line and block forms alike.

    `replace a => b v1` and a `replace (` block line `a => b v1` both give `a => b v1`;
    comments are dropped.
    """
    bodies: list[str] = []
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//", 1)[0].strip()
        if in_block:
            if line == ")":
                in_block = False
            elif line:
                bodies.append(line)
        elif line == f"{verb} (":
            in_block = True
        elif line.startswith(f"{verb} "):
            bodies.append(line[len(verb) + 1 :].strip())
    return bodies


@dataclass(frozen=True)
class WrapperModule:
    """A small module in tools/go/<name> that requires one upstream module and builds its tools.

    It exists for modules that `go install pkg@version` refuses (their go.mod has replace
    directives). go.mod and go.sum are committed, so a build needs only the module proxy; the
    first line of go.mod records the pin it was generated for, and a changed pin regenerates it.
    `replaces` derives replace directives (module -> `module version` that replaces it) and
    `excludes` exclude directives from the upstream go.mod, since Go honours both only in the
    main module, which here is the wrapper.
    """

    name: str
    module: str
    version: str
    tools: Sequence[str]
    replaces: Callable[[str], dict[str, str]] = no_replaces
    excludes: Callable[[str], list[str]] = no_excludes

    @property
    def folder(self) -> Path:
        """The wrapper's folder in the repository."""
        return WRAPPERS / self.name

    def header(self) -> str:
        """Return the first line of the generated go.mod: the pin it was made for."""
        return (
            f"// Generated by tools/gotools.py for {self.module} {self.version}; "
            "change the pin there, not here."
        )

    def ensure(self) -> None:
        """Write go.mod for the current pin and tidy it, unless it is already current.

        The wrapper takes the upstream `go` and `godebug` lines, so the tools keep the
        language version and GODEBUG defaults they are released with.
        """
        go_mod = self.folder / "go.mod"
        current = go_mod.is_file() and go_mod.read_text().splitlines()[0] == self.header()
        if current and (self.folder / "go.sum").is_file():
            return
        log(f"generating {go_mod.relative_to(REPO)} for {self.module} {self.version}")
        upstream = Path(module_info(self.module, self.version)["GoMod"]).read_text()
        directives = [
            line for line in upstream.splitlines() if line.startswith(("go ", "godebug "))
        ]
        lines = [self.header(), "", f"module todo-chatbot/tools/{self.name}", "", *directives]
        lines += ["", f"require {self.module} {self.version}", ""]
        replaces = self.replaces(upstream)
        if replaces:
            lines += ["replace (", *[f"\t{m} => {t}" for m, t in replaces.items()], ")", ""]
        excludes = self.excludes(upstream)
        if excludes:
            lines += ["exclude (", *[f"\t{body}" for body in excludes], ")", ""]
        lines += ["tool (", *[f"\t{package}" for package in self.tools], ")"]
        self.folder.mkdir(parents=True, exist_ok=True)
        go_mod.write_text("\n".join(lines) + "\n")
        (self.folder / "go.sum").unlink(missing_ok=True)
        env = go_env(cgo=False)
        env["GOFLAGS"] = "-buildvcs=false"
        run(["go", "mod", "tidy"], what=f"go mod tidy in {self.folder}", env=env, cwd=self.folder)

    def files(self) -> list[str]:
        """Return go.mod and go.sum (empty before they are generated) for a recipe."""
        paths = [self.folder / "go.mod", self.folder / "go.sum"]
        return [path.read_text() if path.is_file() else "" for path in paths]

    def build(self, output: Path, *, ldflags: Sequence[str], cgo: bool) -> None:
        """Build every tool in ONE `go build`, so they share compilation.

        `output` is a folder (named binaries, one per tool) or, for a single tool, the binary.
        """
        self.ensure()
        target = f"{output}/" if len(self.tools) > 1 else str(output)
        names = " ".join(command_name(package) for package in self.tools)
        what = f"go build {names}"
        env = go_env(cgo=cgo)
        total = count_to_compile(self.tools, what=what, env=env, cwd=self.folder)
        run(
            [
                "go",
                "build",
                "-v",
                "-trimpath",
                "-ldflags",
                " ".join(["-s", "-w", *ldflags]),
                "-o",
                target,
                *self.tools,
            ],
            what=what,
            env=env,
            cwd=self.folder,
            log_file=build_log(self.name, self.version),
            progress=PackageCount(total),
        )


def release_date(module: str, version: str) -> str:
    """Return the tag time of a module version: a reproducible build date."""
    info = module_info(module, version)
    published = json.loads(Path(info["Info"]).read_text())["Time"]
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.strptime(published[:19], "%Y-%m-%dT%H:%M:%S"))


# ---- kubernetes -------------------------------------------------------------------------------

# Kubernetes 1.33: the newest line that still runs on this machine's cgroup v1 hybrid layout
# (1.33 and 1.34 only warn; 1.35 refuses cgroup v1) and speaks CRI v1 with Debian 12's
# containerd 1.6.20 and the cgroupfs driver. v1.33.13 is the newest 1.33 patch served.
KUBERNETES_VERSION = "v1.33.13"
KUBERNETES_COMMANDS = [
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
]


def kubernetes_staging_replaces(upstream_go_mod: str) -> dict[str, str]:
    """Replace each staging module that k8s.io/kubernetes requires at v0.0.0 by its release.

    k8s.io/kubernetes points those requirements (k8s.io/api, k8s.io/client-go, ...) at
    folders of its own repository, which a module download does not contain; each is
    published on its own as v0.<minor>.<patch> of the same release.
    """
    staging_version = "v0." + KUBERNETES_VERSION.split(".", 1)[1]
    replaces = {}
    for line in upstream_go_mod.splitlines():
        words = line.split()
        if len(words) == 2 and words[0].startswith("k8s.io/") and words[1] == "v0.0.0":
            replaces[words[0]] = f"{words[0]} {staging_version}"
    if not replaces:
        raise ValueError(f"k8s.io/kubernetes {KUBERNETES_VERSION} requires no staging module")
    return replaces


KUBERNETES_MODULE = WrapperModule(
    name="kubernetes",
    module="k8s.io/kubernetes",
    version=KUBERNETES_VERSION,
    tools=[f"k8s.io/kubernetes/cmd/{command}" for command in KUBERNETES_COMMANDS],
    replaces=kubernetes_staging_replaces,
)


def kubernetes_ldflags() -> list[str]:
    """Return the version flags of Kubernetes' hack/lib/version.sh for the pinned release.

    Without them every component reports v0.0.0, and version checks (kubeVersion in Helm
    charts, kubectl's skew warning) fail.
    """
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    values = {
        "gitVersion": KUBERNETES_VERSION,
        "gitMajor": major,
        "gitMinor": minor,
        # Unset, it reads "$Format:%H$" (a git-archive placeholder); the commit is unknown.
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": release_date("k8s.io/kubernetes", KUBERNETES_VERSION),
    }
    return [
        f"-X {package}.{key}={value}"
        for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version")
        for key, value in values.items()
    ]


def build_kubernetes(out_dir: Path) -> None:
    """Build every Kubernetes command in one cgo-enabled `go build`.

    Kubernetes releases kubelet with cgo and the others static. Two builds would compile
    twice every package that both sides share and that depends on net or os/user (which
    differ with cgo): 1,007 of the 2,649 packages of v1.33.13, about 38% more work. These
    binaries run on the host, so a dynamic glibc link costs nothing.
    """
    KUBERNETES_MODULE.build(out_dir, ldflags=kubernetes_ldflags(), cgo=True)


KUBERNETES = Tool(
    name="kubernetes",
    version=KUBERNETES_VERSION,
    links={command: command for command in KUBERNETES_COMMANDS},
    build=build_kubernetes,
    recipe=lambda: [*KUBERNETES_MODULE.files(), "cgo", *kubernetes_ldflags()],
    version_args_by_binary={"kubectl": ("version", "--client")},
    # Measured: relinking the six commands peaked at 2.0 GB resident; a cold build wrote about
    # 5 GiB of module and build cache (`make tools` and `make cluster-tools`: 14.3 GiB).
    build_memory_gib=2.0,
    build_disk_gib=5.0,
)

# Kubernetes' own pause binary, build/pause/linux/pause.c of k8s.io/kubernetes, at the tag of
# build/pause/Makefile in that release (checked when it is built).
PAUSE_VERSION = "v3.10.1"
PAUSE_CFLAGS = [
    "-Os",
    "-Wall",
    "-Werror",
    "-static",
    f"-DVERSION={PAUSE_VERSION}-{KUBERNETES_VERSION}",
]


def build_pause(out_dir: Path) -> None:
    """Compile the pause container's binary statically, with the CFLAGS of its Makefile."""
    source = Path(module_info("k8s.io/kubernetes", KUBERNETES_VERSION)["Dir"]) / "build" / "pause"
    tag = next(
        line.split("?=")[1].strip()
        for line in (source / "Makefile").read_text().splitlines()
        if line.startswith("TAG ?=")
    )
    if f"v{tag}" != PAUSE_VERSION:
        sys.exit(
            f"gotools: Kubernetes {KUBERNETES_VERSION} ships pause {tag}; "
            f"update PAUSE_VERSION ({PAUSE_VERSION}) in {__file__}"
        )
    run(
        ["gcc", *PAUSE_CFLAGS, "-o", str(out_dir / "pause"), str(source / "linux" / "pause.c")],
        what="gcc pause.c",
    )


PAUSE = Tool(
    name="pause",
    version=PAUSE_VERSION,
    links={"pause": "pause"},
    build=build_pause,
    recipe=lambda: [KUBERNETES_VERSION, *PAUSE_CFLAGS],
    version_args=("-v",),
)


# ---- etcd -------------------------------------------------------------------------------------

# etcd 3.5, the line Kubernetes 1.33 is tested with. Debian 12 ships 3.4.23, older than the
# 3.4.31/3.5.13 fixes that the 1.33 apiserver requires before it sends watch progress requests
# (k8s.io/apiserver pkg/storage/feature), so its consistent reads from cache would stay off.
# v3.5.35 is the newest 3.5 served.
ETCD_VERSION = "v3.5.35"

# go.etcd.io/etcd/server/v3 is a main package too, but its go.mod replaces the other etcd
# modules with sibling folders, so `go install` refuses it: build it through a wrapper.
ETCD_MODULE = WrapperModule(
    name="etcd",
    module="go.etcd.io/etcd/server/v3",
    version=ETCD_VERSION,
    tools=["go.etcd.io/etcd/server/v3"],
)

ETCD = Tool(
    name="etcd",
    version=ETCD_VERSION,
    links={"etcd": "etcd"},
    build=lambda out_dir: ETCD_MODULE.build(out_dir / "etcd", ldflags=[], cgo=False),
    recipe=lambda: [*ETCD_MODULE.files(), "static"],
)


# ---- cluster add-ons --------------------------------------------------------------------------

# CoreDNS 1.15.0: the newest release served; its go.mod asks for Go 1.26.0, which we have.
COREDNS_VERSION = "v1.15.0"
# metrics-server 0.8.0: the release for Kubernetes 1.31+ that was tried here (0.9.0 was not).
METRICS_SERVER_VERSION = "v0.8.0"
# kube-router v2.1.0 is the only v2 release the module proxy serves. Its reported flaw
# (GHSA-phqm-jgc3-qf8g) is in the service proxy, which the cluster does not run: kube-router
# runs as the NetworkPolicy firewall only (--run-firewall, no --run-service-proxy/--run-router).
KUBE_ROUTER_VERSION = "v2.1.0"


def go_install_tool(
    name: str, module: str, package: str, version: str, ldflags: Callable[[], list[str]]
) -> Tool:
    """Describe a static Go tool that `go install package@version` builds as its own module."""
    binary = command_name(package)
    return Tool(
        name=name,
        version=version,
        links={name: binary},
        build=lambda out_dir: go_install(module, package, version, out_dir, ldflags=ldflags()),
        recipe=lambda: ["go install -trimpath", "static", *ldflags()],
    )


COREDNS = go_install_tool(
    "coredns",
    "github.com/coredns/coredns",
    "github.com/coredns/coredns",
    COREDNS_VERSION,
    # The version is a constant in coremain; only the git commit is set by CoreDNS' Makefile,
    # and it is not known offline.
    lambda: [],
)
METRICS_SERVER = go_install_tool(
    "metrics-server",
    "sigs.k8s.io/metrics-server",
    "sigs.k8s.io/metrics-server/cmd/metrics-server",
    METRICS_SERVER_VERSION,
    lambda: [
        f"-X k8s.io/client-go/pkg/version.gitVersion={METRICS_SERVER_VERSION}",
        "-X k8s.io/client-go/pkg/version.buildDate="
        + release_date("sigs.k8s.io/metrics-server", METRICS_SERVER_VERSION),
    ],
)
KUBE_ROUTER = go_install_tool(
    "kube-router",
    "github.com/cloudnativelabs/kube-router/v2",
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router",
    KUBE_ROUTER_VERSION,
    lambda: [
        f"-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version={KUBE_ROUTER_VERSION}",
        "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate="
        + release_date("github.com/cloudnativelabs/kube-router/v2", KUBE_ROUTER_VERSION),
    ],
)


# ---- traefik ----------------------------------------------------------------------------------

# Traefik v3.6.12, the newest v3 release whose whole module graph the Go module proxy serves.
# The v3.7 releases it lists (v3.7.11 to v3.7.13) cannot be built from it: they need a fork of
# go-http-auth at a version it refuses and 14 DNS provider SDKs of lego v5 that it does not
# serve at all, and their go.mod replaces an unpublished nested module by a local folder.
# v3.6 implements Gateway API v1.4 (GatewayClass, Gateway, HTTPRoute v1, which the v1.6.1 CRDs
# of the cluster serve unchanged).
TRAEFIK_VERSION = "v3.6.12"
TRAEFIK_MODULE_PATH = "github.com/traefik/traefik/v3"


def upstream_replaces(upstream_go_mod: str) -> dict[str, str]:
    """Repeat the upstream module's replace directives, which all name a published module.

    Traefik builds against its own forks (containous/go-http-auth, containous/mux, ...); left
    out, the build would compile against the originals it does not use. A replace by a local
    folder cannot be repeated: that folder is not in the module download.
    """
    replaces = {}
    for body in go_mod_directives(upstream_go_mod, "replace"):
        module, target = (side.strip() for side in body.split("=>"))
        if target.startswith(("./", "../", "/")):
            raise ValueError(f"upstream replaces {module} by the local folder {target}")
        replaces[module] = target
    return replaces


def upstream_excludes(upstream_go_mod: str) -> list[str]:
    """Repeat the upstream module's exclude directives (Traefik: a broken tencentcloud SDK)."""
    return go_mod_directives(upstream_go_mod, "exclude")


TRAEFIK_MODULE = WrapperModule(
    name="traefik",
    module=TRAEFIK_MODULE_PATH,
    version=TRAEFIK_VERSION,
    tools=[f"{TRAEFIK_MODULE_PATH}/cmd/traefik"],
    replaces=upstream_replaces,
    excludes=upstream_excludes,
)


def traefik_codename() -> str:
    """Return the release codename, read from the release workflow of the pinned version."""
    source = Path(module_info(TRAEFIK_MODULE_PATH, TRAEFIK_VERSION)["Dir"])
    workflow = (source / ".github" / "workflows" / "release.yaml").read_text()
    found = re.search(r"^\s+CODENAME:\s*(\S+)\s*$", workflow, flags=re.MULTILINE)
    if found is None:
        raise ValueError(f"traefik {TRAEFIK_VERSION}: no CODENAME in its release workflow")
    return found.group(1)


def traefik_ldflags() -> list[str]:
    """Return the -X flags of Traefik's release build (.goreleaser.yml.tmpl).

    goreleaser sets the version without its `v` and the codename from the release workflow;
    the build date is the tag's time, so the build is reproducible.
    """
    package = f"{TRAEFIK_MODULE_PATH}/pkg/version"
    return [
        f"-X {package}.Version={TRAEFIK_VERSION.lstrip('v')}",
        f"-X {package}.Codename={traefik_codename()}",
        f"-X {package}.BuildDate={release_date(TRAEFIK_MODULE_PATH, TRAEFIK_VERSION)}",
    ]


# Traefik's Gateway API provider watches GRPCRoutes and BackendTLSPolicies besides the kinds of
# ../shared/crds, and waits for their caches forever when their CRDs are missing. Their CRDs
# are installed next to the binary, from the Gateway API module Traefik is built against.
GATEWAY_API_MODULE = "sigs.k8s.io/gateway-api"
TRAEFIK_EXTRA_CRDS = ("grpcroutes", "backendtlspolicies")
TRAEFIK_CRD_FOLDER = "gateway-api-crds"


def copy_traefik_crds(out_dir: Path) -> None:
    """Copy the standard-channel CRDs of TRAEFIK_EXTRA_CRDS into `out_dir`/gateway-api-crds."""
    version = required_version(TRAEFIK_MODULE.folder / "go.mod", GATEWAY_API_MODULE)
    standard = Path(module_info(GATEWAY_API_MODULE, version)["Dir"]) / "config" / "crd" / "standard"
    target = out_dir / TRAEFIK_CRD_FOLDER
    target.mkdir()
    for kind in TRAEFIK_EXTRA_CRDS:
        name = f"gateway.networking.k8s.io_{kind}.yaml"
        shutil.copyfile(standard / name, target / name)


def build_traefik(out_dir: Path) -> None:
    """Build Traefik statically, then lay its extra Gateway API CRDs beside it."""
    TRAEFIK_MODULE.build(out_dir / "traefik", ldflags=traefik_ldflags(), cgo=False)
    copy_traefik_crds(out_dir)


# Traefik runs alone in its image, so it is static like its release (CGO_ENABLED=0). The web
# UI's assets are built by npm in Traefik's release and are not in the module: the dashboard
# stays off in the cluster, which needs only the proxy.
TRAEFIK = Tool(
    name="traefik",
    version=TRAEFIK_VERSION,
    links={"traefik": "traefik"},
    build=build_traefik,
    recipe=lambda: [
        *TRAEFIK_MODULE.files(),
        "static",
        *traefik_ldflags(),
        f"{TRAEFIK_CRD_FOLDER}: {' '.join(TRAEFIK_EXTRA_CRDS)}",
    ],
    version_args=("version",),
    # Measured: linking Traefik (every DNS provider of lego) peaked at 2.4 GB resident; a cold
    # build wrote about 4 GiB of module and build cache.
    build_memory_gib=2.5,
    build_disk_gib=4.0,
)

GROUPS: dict[str, list[Tool]] = {
    "helm": HELM_TOOLS,
    "kubernetes": [KUBERNETES],
    "traefik": [TRAEFIK],
    "cluster": [KUBERNETES, ETCD, COREDNS, METRICS_SERVER, KUBE_ROUTER, TRAEFIK, PAUSE],
    "cluster-addons": [ETCD, COREDNS, METRICS_SERVER, KUBE_ROUTER, TRAEFIK, PAUSE],
}
GROUPS["all"] = [*HELM_TOOLS, *GROUPS["cluster"]]


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


@contextlib.contextmanager
def build_lock(tool: Tool) -> Iterator[None]:
    """Hold the tool's build lock: concurrent `make setup` runs build a tool only once."""
    tool.folder.parent.mkdir(parents=True, exist_ok=True)
    with open(tool.folder.parent / f".{tool.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another process that builds {tool.name}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def install(tool: Tool, *, force: bool, step: str = "") -> None:
    """Build the tool unless its current recipe is already built, check it, and link it.

    `step` (such as `tool 2/7`) tells where this build stands among those of the run.
    """
    if is_current(tool) and not force:
        link(tool)
        return
    with build_lock(tool):
        # Another process may have built it while this one waited for the lock.
        if not is_current(tool) or force:
            build(tool, step=step)
    link(tool)


def build(tool: Tool, *, step: str = "") -> None:
    """Build the tool into a staging folder, check its versions, then move it into place."""
    label = f"{step} {tool.name}" if step else tool.name
    log(f"{label}: building {tool.version} -> {tool.folder}")
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix=f".{tool.name}-", dir=tool.folder.parent))
    token = STEP.set(label)
    try:
        # mkdtemp makes a private folder; the binaries are for every user (and for images).
        staging.chmod(0o755)
        tool.build(staging)
        for binary in tool.links.values():
            if not (staging / binary).is_file():
                sys.exit(f"gotools: building {tool.name} produced no {binary}")
        # Check the binaries before they replace a working version.
        printed = [
            check_version(tool, staging / binary) for binary in sorted(set(tool.links.values()))
        ]
        (staging / ".recipe").write_text(tool.recipe_digest() + "\n")
        if tool.folder.exists():
            shutil.rmtree(tool.folder)
        staging.rename(tool.folder)
    finally:
        STEP.reset(token)
        if staging.exists():
            shutil.rmtree(staging)
    log(f"{label}: built {tool.version} in {elapsed(time.monotonic() - started)}: {printed[0]}")


GIB = 1 << 30


def available_memory_gib() -> float | None:
    """Return the memory the kernel can give a new process (MemAvailable), or None unknown."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.is_file():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024 / GIB
    return None


def free_disk_gib(path: Path) -> float:
    """Return the free space of the file system that holds `path` (or would, once made)."""
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free / GIB


def preflight(tools: Sequence[Tool]) -> None:
    """Stop with one line when this machine lacks the memory or disk that building needs.

    The tools build one after another, so the memory needed is the largest tool's; their
    module and build caches all stay, so the disk needed is their sum.
    """
    names = ", ".join(tool.name for tool in tools)
    memory = max(tool.build_memory_gib for tool in tools)
    available = available_memory_gib()
    if available is not None and available < memory:
        sys.exit(
            f"gotools: building {names} needs about {memory:g} GiB of memory, "
            f"but only {available:.1f} GiB is available; stop something or add memory"
        )
    disk = sum(tool.build_disk_gib for tool in tools)
    free = free_disk_gib(cache_dir())
    if free < disk:
        sys.exit(
            f"gotools: building {names} needs about {disk:g} GiB of disk under {cache_dir()}, "
            f"but only {free:.1f} GiB is free; free some or point CACHE elsewhere"
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Build the tools of the group named on the command line (those not built yet)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("group", choices=sorted(GROUPS), help="which tools to build")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    started = time.monotonic()
    tools = GROUPS[args.group]
    to_build = [tool.name for tool in tools if args.force or not is_current(tool)]
    if to_build:
        preflight([tool for tool in tools if tool.name in to_build])
    for tool in tools:
        step = (
            f"tool {to_build.index(tool.name) + 1}/{len(to_build)}" if tool.name in to_build else ""
        )
        install(tool, force=args.force, step=step)
    log(f"{args.group}: ready in {cache_dir() / 'bin'} ({elapsed(time.monotonic() - started)})")


if __name__ == "__main__":
    main()
