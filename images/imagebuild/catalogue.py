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


# The chart's components, whose images carry the same names.
APPS = ("backend", "frontend")
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
        build_args={"VERSION": version, "SOURCE": source_url(), **({"APP": name} if ours else {})},
        target=name if ours else None,
        requirements=folder / "requirements.txt",
    )


@dataclass(frozen=True)
class Component:
    """A cluster component image around one static binary from $CACHE/bin.

    `version` is the toolchain's pin (tools/toolchain/pins.py); `tag` fixes the image tag when
    it is not that version; `on_debian` gives the Containerfile base-debian as its BASE_IMAGE
    (for the CA bundle, setcap or iptables).
    """

    name: str
    version: str
    tag: str | None = None
    on_debian: bool = False

    def containerfile(self) -> Path:
        """The component's Containerfile under images/<name>/."""
        return IMAGES_DIR / self.name / "Containerfile"


COMPONENTS = [
    # 3.10 is the sandbox image tag the cluster's containerd config names, whatever the patch
    # release of the binary (labelled in the image).
    Component("pause", pins.PAUSE_VERSION, tag=PAUSE_TAG),
    Component("coredns", pins.COREDNS_VERSION, on_debian=True),
    Component("metrics-server", pins.METRICS_SERVER_VERSION, on_debian=True),
    Component("kube-router", pins.KUBE_ROUTER_VERSION, on_debian=True),
    Component("traefik", pins.TRAEFIK_VERSION, on_debian=True),
]
# The make target that builds each image.
BUILT_BY = {
    **dict.fromkeys(APPS, "images"),
    **dict.fromkeys((c.name for c in COMPONENTS), "cluster-images"),
    **dict.fromkeys(FIXTURES, "fixture-images"),
}


def component_version(component: Component, overrides: dict[str, str]) -> str:
    """Return a component's version: --component-version, else the toolchain's pin."""
    return overrides.get(component.name, component.version)


def component_image(component: Component, version: str, context: Path) -> Image:
    """Describe a component image whose build context holds just its binary."""
    return Image(
        name=component.name,
        ref=f"{REGISTRY}/{PROJECT}/{component.name}:{component.tag or version}",
        containerfile=component.containerfile(),
        context=context,
        inputs=[context / component.name],
        build_args={"VERSION": version, **iptables_mode(component)},
    )


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
    """Copy a component's binary into its own small build context; None when it is missing."""
    binary = cache_dir() / "bin" / component.name
    if not binary.is_file():
        return None
    context = images_cache() / "contexts" / component.name
    context.mkdir(parents=True, exist_ok=True)
    target = context / component.name
    resolved = binary.resolve()
    if not target.is_file() or target.read_bytes() != resolved.read_bytes():
        shutil.copy2(resolved, target)
    return context
