"""The catalogue of images: which images exist, what each is built from, which make target.

Read by the build (images/build.py), the local cluster (cluster/localcluster/images.py) and
the image tests, so a new image is named here once.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from localcluster.settings import REGISTRY
from toolchain import pins
from toolchain.cache import cache_dir

from .buildah import Image
from .common import APP_DIR, IMAGES_DIR, PROJECT, REPO, capture, images_cache

PAUSE_TAG = "3.10"


def project_version() -> str:
    """Return the top-level VERSION (the chart's appVersion and the app images' tag)."""
    return (REPO / "VERSION").read_text().strip()


def source_url() -> str:
    """Return the git remote's URL for the images' source label, or 'unknown' without one."""
    result = capture(["git", "-C", str(REPO), "remote", "get-url", "origin"])
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def version_label(version: str) -> dict[str, str]:
    """The OCI label of an image's version, which every build sets (the Containerfiles name
    only what does not change with a release: title, description, an upstream's source)."""
    return {"org.opencontainers.image.version": version}


def project_labels(version: str) -> dict[str, str]:
    """The labels of the images built from this repository: its version and remote."""
    return {**version_label(version), "org.opencontainers.image.source": source_url()}


# The chart's components, whose images carry the same names.
APPS = ("backend", "frontend")
# The Next.js + Better Auth frontend (app/frontend-next), the stack the spec's users run. Its
# own group and make target: `npm ci` and `next build` (imagebuild.nextjs) add about a
# minute to a cold build, which `make images` and the Python stack's tests do not pay.
NEXT = "frontend-next"
# Images only tests run: the foreign-contract app (app/foreign), which proves the chart
# deploys images that do not follow docs/contract.md. It needs no todo_common.
FIXTURES = ("foreign",)


def app_image(name: str, version: str) -> Image:
    """Describe an app or fixture image (context: app/, for the shared todo_common)."""
    folder = APP_DIR / name
    ours = name in APPS
    return Image(
        name=name,
        ref=f"{REGISTRY}/{PROJECT}/{name}:{version}",
        # The apps share app/Dockerfile: APP picks the folder, the target the CMD.
        containerfile=APP_DIR / "Dockerfile" if ours else folder / "Dockerfile",
        context=APP_DIR,
        inputs=[*([APP_DIR / "common"] if ours else []), folder, APP_DIR / ".dockerignore"],
        build_args={"APP": name} if ours else {},
        labels=project_labels(version),
        target=name if ours else None,
        requirements=folder / "requirements.txt",
    )


def next_image(version: str, context: Path) -> Image:
    """Describe the Next.js frontend's image around the context imagebuild.nextjs built."""
    return Image(
        name=NEXT,
        ref=f"{REGISTRY}/{PROJECT}/{NEXT}:{version}",
        containerfile=APP_DIR / NEXT / "Containerfile",
        context=context,
        inputs=[context],
        labels=project_labels(version),
    )


@dataclass(frozen=True)
class StaticBinary:
    """How images/static-binary/Containerfile lays out a component's image.

    `source` is the upstream repository (the image's source label); `user` runs the binary;
    `ports` are exposed as upstream's image exposes them; `capability`, in setcap's form, is
    set on the binary; `path` is where the image keeps the binary, upstream's path (the
    default: /NAME).
    """

    source: str
    user: str
    ports: str
    capability: str = ""
    path: str | None = None

    def binary(self, name: str) -> str:
        """The binary's path in the image: `path`, else /NAME."""
        return self.path or f"/{name}"

    def containerfile(self, name: str) -> str:
        """The shared Containerfile with this component's labels, USER, EXPOSE and ENTRYPOINT."""
        shared = (IMAGES_DIR / "static-binary" / "Containerfile").read_text()
        return (
            f'{shared}LABEL org.opencontainers.image.title="{name}" \\\n'
            f'      org.opencontainers.image.source="{self.source}"\n'
            f"USER {self.user}\n"
            f"EXPOSE {self.ports}\n"
            f'ENTRYPOINT ["{self.binary(name)}"]\n'
        )


@dataclass(frozen=True)
class Component:
    """A cluster component image around one static binary from $CACHE/bin.

    `version` is the toolchain's pin (tools/toolchain/pins.py); `tag` fixes the image tag when
    it is not that version; `on_debian` gives the Containerfile base-debian as its BASE_IMAGE
    (for the CA bundle, setcap or iptables). A component in STATIC_BINARIES is built from the
    shared images/static-binary/Containerfile, any other from its images/<name>/Containerfile.
    """

    name: str
    version: str
    tag: str | None = None
    on_debian: bool = False

    @property
    def static(self) -> StaticBinary | None:
        """Its layout in images/static-binary/Containerfile; None when it has its own."""
        return STATIC_BINARIES.get(self.name)

    def containerfile(self, context: Path) -> Path:
        """The component's Containerfile: its own, or the one stage_context wrote for it."""
        if self.static:
            return context / "Containerfile"
        return IMAGES_DIR / self.name / "Containerfile"


# The components images/static-binary/Containerfile builds, laid out as their upstream images.
STATIC_BINARIES = {
    # The capability lets CoreDNS bind port 53 as a non-root user.
    "coredns": StaticBinary(
        "https://github.com/coredns/coredns", "65532:65532", "53 53/udp", "cap_net_bind_service=+ep"
    ),
    # Its serving certificate goes to --cert-dir (an emptyDir at /tmp).
    "metrics-server": StaticBinary(
        "https://github.com/kubernetes-sigs/metrics-server", "65534:65534", "10250"
    ),
    # Without upstream's shell; the CA bundle serves HTTPS backends and ACME. The cluster's
    # entrypoints listen on unprivileged ports, so the binary needs no file capability.
    "traefik": StaticBinary("https://github.com/traefik/traefik", "65532:65532", "8000 8080"),
    # The local cluster's monitoring (cluster/localcluster/monitoring.py), at upstream's paths
    # without their busybox. The operator talks only to the apiserver.
    "prometheus-operator": StaticBinary(
        "https://github.com/prometheus-operator/prometheus-operator",
        "65534:65534",
        "8080",
        path="/bin/operator",
    ),
    # The sidecar the operator adds to every Prometheus pod: the operator runs it by this path
    # (its container's command), whatever the entrypoint, and has it listen on 8080.
    "prometheus-config-reloader": StaticBinary(
        "https://github.com/prometheus-operator/prometheus-operator",
        "65534:65534",
        "8080",
        path="/bin/prometheus-config-reloader",
    ),
    # Built without the web UI's assets (tools/toolchain/monitoring.py), and without promtool and
    # the example configuration: the operator gives it its arguments, its configuration and
    # its data volume at /prometheus (--storage.tsdb.path).
    "prometheus": StaticBinary(
        "https://github.com/prometheus/prometheus", "65534:65534", "9090", path="/bin/prometheus"
    ),
}

COMPONENTS = [
    # 3.10 is the sandbox image tag the cluster's containerd config names, whatever the patch
    # release of the binary (labelled in the image).
    Component("pause", pins.PAUSE_VERSION, tag=PAUSE_TAG),
    Component("coredns", pins.COREDNS_VERSION, on_debian=True),
    Component("metrics-server", pins.METRICS_SERVER_VERSION, on_debian=True),
    Component("kube-router", pins.KUBE_ROUTER_VERSION, on_debian=True),
    Component("traefik", pins.TRAEFIK_VERSION, on_debian=True),
    Component("prometheus-operator", pins.PROMETHEUS_OPERATOR_VERSION, on_debian=True),
    Component("prometheus-config-reloader", pins.PROMETHEUS_OPERATOR_VERSION, on_debian=True),
    Component("prometheus", pins.PROMETHEUS_VERSION, on_debian=True),
]
# The make target that builds each image.
BUILT_BY = {
    **dict.fromkeys(APPS, "images"),
    **dict.fromkeys((c.name for c in COMPONENTS), "cluster-images"),
    **dict.fromkeys(FIXTURES, "fixture-images"),
    NEXT: "next-image",
}


def component_version(component: Component, overrides: dict[str, str]) -> str:
    """Return a component's version: --component-version, else the toolchain's pin."""
    return overrides.get(component.name, component.version)


def component_image(component: Component, version: str, context: Path) -> Image:
    """Describe a component image whose build context holds just its binary."""
    return Image(
        name=component.name,
        ref=f"{REGISTRY}/{PROJECT}/{component.name}:{component.tag or version}",
        containerfile=component.containerfile(context),
        context=context,
        inputs=[context / component.name],
        build_args={**static_args(component), **iptables_mode(component)},
        labels=version_label(version),
    )


def static_args(component: Component) -> dict[str, str]:
    """Return the build arguments of images/static-binary/Containerfile, if it builds this one."""
    if not component.static:
        return {}
    return {
        "NAME": component.name,
        "BINARY": component.static.binary(component.name),
        "CAPABILITY": component.static.capability,
    }


def iptables_mode(component: Component) -> dict[str, str]:
    """Return kube-router's IPTABLES_MODE build argument: the host's iptables backend.

    Rules written through nf_tables and through legacy iptables do not see each other, so
    kube-router must use the same backend as the node's kubelet and kube-proxy tooling.
    """
    if component.name != "kube-router":
        return {}
    printed = capture(["iptables", "--version"]).stdout
    return {"IPTABLES_MODE": "legacy" if "legacy" in printed else "nft"}


def stage_context(component: Component) -> Path | None:
    """Copy a component's binary into its own small build context; None when it is missing.

    A component built from images/static-binary/Containerfile gets its Containerfile there too.
    """
    binary = cache_dir() / "bin" / component.name
    if not binary.is_file():
        return None
    context = images_cache() / "contexts" / component.name
    context.mkdir(parents=True, exist_ok=True)
    target = context / component.name
    resolved = binary.resolve()
    if not target.is_file() or target.read_bytes() != resolved.read_bytes():
        shutil.copy2(resolved, target)
    if component.static:
        component.containerfile(context).write_text(component.static.containerfile(component.name))
    return context
