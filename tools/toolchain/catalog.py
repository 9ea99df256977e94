"""Every tool the project builds and how: its module, flags, binaries, and what a build needs.

The versions are in `pins`, the monitoring tools' builds in `monitoring`; `GROUPS` names the sets
that tools/gotools.py builds.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .golang import command_name, go_install, module_info, release_date, required_version
from .installer import Tool
from .monitoring import MONITORING
from .node import NODE
from .pins import (
    COREDNS_VERSION,
    ETCD_VERSION,
    HELM3_VERSION,
    HELM_VERSION,
    KUBE_ROUTER_VERSION,
    KUBE_SCORE_VERSION,
    KUBECONFORM_VERSION,
    KUBERNETES_VERSION,
    METRICS_SERVER_VERSION,
    PAUSE_VERSION,
    TRAEFIK_VERSION,
)
from .progress import run
from .wrapper import WrapperModule, upstream_excludes, upstream_replaces

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


# ---- checkers ---------------------------------------------------------------------------------


def go_install_tool(
    name: str,
    module: str,
    package: str,
    version: str,
    ldflags: Callable[[], list[str]],
    version_args: Sequence[str] = ("--version",),
) -> Tool:
    """Describe a static Go tool that `go install package@version` builds as its own module."""
    binary = command_name(package)
    return Tool(
        name=name,
        version=version,
        links={name: binary},
        build=lambda out_dir: go_install(module, package, version, out_dir, ldflags=ldflags()),
        recipe=lambda: ["go install -trimpath", "static", *ldflags()],
        version_args=version_args,
    )


# Both release with goreleaser, whose default flags set main.version (without the `v`), and for
# kube-score main.commit and main.date: the commit is not known offline, the date is the tag's.
KUBE_SCORE = go_install_tool(
    "kube-score",
    "github.com/zegl/kube-score",
    "github.com/zegl/kube-score/cmd/kube-score",
    KUBE_SCORE_VERSION,
    lambda: [
        f"-X main.version={KUBE_SCORE_VERSION.lstrip('v')}",
        "-X main.date=" + release_date("github.com/zegl/kube-score", KUBE_SCORE_VERSION),
    ],
    version_args=("version",),
)
KUBECONFORM = go_install_tool(
    "kubeconform",
    "github.com/yannh/kubeconform",
    "github.com/yannh/kubeconform/cmd/kubeconform",
    KUBECONFORM_VERSION,
    lambda: [f"-X main.version={KUBECONFORM_VERSION}"],
    version_args=("-v",),
)
CHECKERS = [KUBE_SCORE, KUBECONFORM]


# ---- kubernetes -------------------------------------------------------------------------------

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
            f"update PAUSE_VERSION ({PAUSE_VERSION}) in tools/toolchain/pins.py"
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

TRAEFIK_MODULE_PATH = "github.com/traefik/traefik/v3"

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
    "node": [NODE],
    "checkers": CHECKERS,
    "kubernetes": [KUBERNETES],
    "traefik": [TRAEFIK],
    "monitoring": MONITORING,
    "cluster-addons": [ETCD, COREDNS, METRICS_SERVER, KUBE_ROUTER, TRAEFIK, PAUSE, *MONITORING],
}
GROUPS["cluster"] = [KUBERNETES, *GROUPS["cluster-addons"]]
GROUPS["all"] = [*HELM_TOOLS, NODE, *CHECKERS, *GROUPS["cluster"]]
