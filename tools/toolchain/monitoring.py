"""The monitoring tools the local cluster runs: the Prometheus Operator and Prometheus.

Apart from `catalog` because their modules are built in their own ways (the operator's submodule
replaces, Prometheus' module version and build tags); the versions are in `pins`.
"""

from __future__ import annotations

from .golang import release_date
from .installer import Tool
from .pins import PROMETHEUS_OPERATOR_VERSION, PROMETHEUS_VERSION
from .wrapper import WrapperModule, go_mod_directives, upstream_replaces

PROMETHEUS_OPERATOR_MODULE_PATH = "github.com/prometheus-operator/prometheus-operator"


def operator_submodule_replaces(upstream_go_mod: str) -> dict[str, str]:
    """Replace each of the operator's own submodules, which its go.mod points at folders, by its
    release.

    Like Kubernetes' staging repositories: pkg/apis/monitoring and pkg/client are folders of the
    operator's repository, and each is published on its own at the operator's version.
    """
    replaces = {}
    for body in go_mod_directives(upstream_go_mod, "replace"):
        module = body.split("=>")[0].strip()
        if not module.startswith(f"{PROMETHEUS_OPERATOR_MODULE_PATH}/"):
            raise ValueError(f"the operator replaces {module}, which is not one of its own")
        replaces[module] = f"{module} {PROMETHEUS_OPERATOR_VERSION}"
    return replaces


PROMETHEUS_OPERATOR_MODULE = WrapperModule(
    name="prometheus-operator",
    module=PROMETHEUS_OPERATOR_MODULE_PATH,
    version=PROMETHEUS_OPERATOR_VERSION,
    # The operator and the sidecar it adds to every Prometheus pod; the admission webhook and
    # the migration tools of the module are not used.
    tools=[
        f"{PROMETHEUS_OPERATOR_MODULE_PATH}/cmd/operator",
        f"{PROMETHEUS_OPERATOR_MODULE_PATH}/cmd/prometheus-config-reloader",
    ],
    replaces=operator_submodule_replaces,
)


def prometheus_common_ldflags(version: str, module: str, module_version: str) -> list[str]:
    """Return the -X flags of prometheus/common's version package that promu and the operator's
    Makefile set: the version without its `v`, and the tag's time as a reproducible build date.

    The git revision and branch are not known offline, so they stay empty.
    """
    date = release_date(module, module_version).replace("-", "").replace("T", "-").rstrip("Z")
    package = "github.com/prometheus/common/version"
    return [f"-X {package}.Version={version.lstrip('v')}", f"-X {package}.BuildDate={date}"]


def prometheus_operator_ldflags() -> list[str]:
    """Return the version flags of the operator's release build (its Makefile)."""
    return prometheus_common_ldflags(
        PROMETHEUS_OPERATOR_VERSION, PROMETHEUS_OPERATOR_MODULE_PATH, PROMETHEUS_OPERATOR_VERSION
    )


# Both run alone in their images, static like the operator's release (CGO_ENABLED=0).
PROMETHEUS_OPERATOR = Tool(
    name="prometheus-operator",
    version=PROMETHEUS_OPERATOR_VERSION,
    links={
        "prometheus-operator": "operator",
        "prometheus-config-reloader": "prometheus-config-reloader",
    },
    build=lambda out_dir: PROMETHEUS_OPERATOR_MODULE.build(
        out_dir, ldflags=prometheus_operator_ldflags(), cgo=False
    ),
    recipe=lambda: [*PROMETHEUS_OPERATOR_MODULE.files(), "static", *prometheus_operator_ldflags()],
    # Measured (2026-12-02, empty build cache): its largest process peaked at 1.05 GiB
    # resident; 1.2 GB of build cache and 0.5 GB of the modules it compiles.
    build_memory_gib=1.1,
    build_disk_gib=2.0,
)

PROMETHEUS_MODULE_PATH = "github.com/prometheus/prometheus"


def prometheus_module_version(version: str = PROMETHEUS_VERSION) -> str:
    """Return the Go module version of a Prometheus release: v3.13.1 is published as v0.313.1."""
    major, minor, patch = version.lstrip("v").split(".")
    return f"v0.{major}{int(minor):02d}.{patch}"


# Prometheus' release tags (.promu.yml) are netgo and builtinassets. The web UI's assets are built
# by npm and pnpm in its release and are not in the module, so builtinassets is left out and the
# UI's pages answer 500 (no index.html) while the HTTP API serves. remove_all_sd with
# enable_kubernetes_sd (the build tags of plugins/) keeps only the Kubernetes service discovery,
# the one the operator's configuration uses, besides the file and HTTP ones that are always in.
PROMETHEUS_TAGS = ("netgo", "remove_all_sd", "enable_kubernetes_sd")

PROMETHEUS_MODULE = WrapperModule(
    name="prometheus",
    module=PROMETHEUS_MODULE_PATH,
    version=prometheus_module_version(),
    tools=[f"{PROMETHEUS_MODULE_PATH}/cmd/prometheus"],
    # Its go.mod pins cloud.google.com/go by a replace directive.
    replaces=upstream_replaces,
    tags=PROMETHEUS_TAGS,
)


def prometheus_ldflags() -> list[str]:
    """Return the version flags of Prometheus' release build (.promu.yml)."""
    return prometheus_common_ldflags(
        PROMETHEUS_VERSION, PROMETHEUS_MODULE_PATH, prometheus_module_version()
    )


PROMETHEUS = Tool(
    name="prometheus",
    version=PROMETHEUS_VERSION,
    links={"prometheus": "prometheus"},
    build=lambda out_dir: PROMETHEUS_MODULE.build(
        out_dir / "prometheus", ldflags=prometheus_ldflags(), cgo=False
    ),
    recipe=lambda: [
        *PROMETHEUS_MODULE.files(),
        "static",
        f"tags: {','.join(PROMETHEUS_TAGS)}",
        *prometheus_ldflags(),
    ],
    # Measured (2026-12-02, empty build cache): its largest process peaked at 1.16 GiB
    # resident; 1.2 GB of build cache and 0.8 GB of the modules it compiles.
    build_memory_gib=1.2,
    build_disk_gib=2.0,
)

MONITORING = [PROMETHEUS_OPERATOR, PROMETHEUS]
