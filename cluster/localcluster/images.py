"""Publish the images built by images/build.py to the local registry, as real clusters get them.

images/build.py writes each image as a docker-archive under $CACHE/images and lists them in
$CACHE/images/manifest.json (name -> ref, archive). skopeo copies each archive to its ref in the
registry; layers already there are skipped, and an archive already pushed is not copied again.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import settings
from .errors import ClusterError
from .progress import say
from .settings import Paths
from .shell import run

# Component images the cluster itself runs, by their images/build.py names.
CLUSTER_IMAGES = (
    "pause",
    "coredns",
    "metrics-server",
    "kube-router",
    "traefik",
    "prometheus-operator",
    "prometheus-config-reloader",
    "prometheus",
)
# The chart's components, whose images images/build.py names the same.
APP_IMAGES = ("backend", "frontend")
# Images only tests deploy (`images/build.py fixtures`, built on demand); pushed like the
# others once built.
FIXTURE_IMAGES = ("foreign",)
# The make target that builds each image.
BUILT_BY = {
    **dict.fromkeys(CLUSTER_IMAGES, "cluster-images"),
    **dict.fromkeys(APP_IMAGES, "images"),
    **dict.fromkeys(FIXTURE_IMAGES, "fixture-images"),
}


def manifest_path(paths: Paths) -> Path:
    """The list of built images that images/build.py maintains."""
    return paths.cache / "images" / "manifest.json"


def built(paths: Paths) -> dict[str, dict[str, str]]:
    """Every image images/build.py has produced (name -> {ref, archive, ...})."""
    path = manifest_path(paths)
    if not path.is_file():
        return {}
    entries: dict[str, dict[str, str]] = json.loads(path.read_text())
    return entries


def ref(paths: Paths, name: str) -> str:
    """The registry reference of a built image, e.g. localhost:5001/todo-chatbot/pause:v3.10.1."""
    entry = built(paths).get(name)
    if entry is None or not Path(entry["archive"]).is_file():
        target = BUILT_BY.get(name, "images")
        raise ClusterError(f"the {name} image is not built: run `make {target}`")
    return entry["ref"]


def push_all(paths: Paths) -> None:
    """Copy every built image whose ref names the local registry into it, once per build.

    `up` and `deploy` both call this (a bare `up` must serve the images its pods and tests use;
    `deploy` must serve a rebuilt app image); an archive already pushed since it was last built
    (same path, size and modification time, recorded in $STATE/pushed-images.json) is skipped.
    """
    record_path = paths.state / "pushed-images.json"
    pushed: dict[str, str] = json.loads(record_path.read_text()) if record_path.is_file() else {}
    for entry in sorted(built(paths).values(), key=lambda e: e["ref"]):
        if not entry["ref"].startswith(f"{settings.REGISTRY}/"):
            continue
        archive = Path(entry["archive"])
        if not archive.is_file():
            continue
        stat = archive.stat()
        build = f"{archive} {stat.st_size} {stat.st_mtime_ns}"
        if pushed.get(entry["ref"]) == build:
            continue
        say(f"push {entry['ref']}")
        run(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                f"docker-archive:{archive}",
                f"docker://{entry['ref']}",
            ],
            timeout=600,
        )
        pushed[entry["ref"]] = build
        record_path.parent.mkdir(parents=True, exist_ok=True)
        record_path.write_text(json.dumps(pushed, indent=2) + "\n")


def app_digests(paths: Paths) -> dict[str, str]:
    """The registry digest of each app image as pushed (component -> sha256:...).

    Releases pin them (`image.digest`): a rebuilt image keeps its version tag, and a node that
    already has that tag would otherwise go on running the old build.
    """
    return {component: digest(paths, component) for component in APP_IMAGES}


def digest(paths: Paths, name: str) -> str:
    """The registry digest of a built image as pushed (sha256:...)."""
    inspected = run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{ref(paths, name)}"], timeout=60
    )
    found: str = json.loads(inspected.stdout)["Digest"]
    return found
