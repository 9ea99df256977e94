"""Build the project's container images offline with buildah, cached under $CACHE/images.

Usage: python3 images/build.py apps|components|fixtures|next|all [--require-all-components]
                                [--component-version NAME=VERSION ...] [--refresh-base] [--force]

No Docker engine and no container registry is reachable here, so every image starts from a
Debian rootfs that debootstrap fetches from the machine's configured apt mirror:

1. `base-debian`: `debootstrap --variant=minbase` plus ca-certificates and the security
   updates, scrubbed of apt lists, logs and the host's DNS settings, committed from scratch.
2. `base-python`: base-debian plus Debian's python3 and python3-venv (images/base-python).
3. the app images from app/Dockerfile (its target and APP argument name the app) with that base as
   their BASE_IMAGE; their Python packages come from wheels built on the host into
   $CACHE/wheels and mounted read-only at /mnt, so pip installs them with --no-index. The
   test fixture images (`fixtures`, app/foreign/Dockerfile) are built the same way, only
   when a test asks for them: `all` leaves them out.
4. `next`: the Next.js frontend (app/frontend-next/Containerfile), FROM scratch with
   base-debian's C and C++ runtime; `npm ci` and `next build` run on the host first
   (imagebuild.nextjs). `all` leaves it out too: `make next-image` builds it, and its tests
   build it on demand.
5. the cluster's component images (images/<name>/Containerfile, or the shared
   images/static-binary/Containerfile) around the static binaries that `tools/gotools.py`
   builds into $CACHE/bin; a missing binary is skipped unless --require-all-components is
   given.

Each exported image is written to $CACHE/images/<name>-<tag>.tar (docker-archive, which
`ctr images import` reads) and kept in buildah's local store. A digest of every input (the
Containerfile, the files it copies, the base image's ID, the build arguments) is stamped next
to the archive: an unchanged image is not rebuilt. $CACHE/images/manifest.json lists what the
last run produced, for the tests and the cluster scripts.

This is the command line; the work is done by the `imagebuild` package beside it (common,
rootfs, wheels, nextjs, buildah, catalogue).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import time
from collections.abc import Sequence

# Run as a script, this folder is on the path, so the `imagebuild` package beside it imports.
from imagebuild.buildah import Image, build_image
from imagebuild.catalogue import (
    APPS,
    COMPONENTS,
    FIXTURES,
    app_image,
    component_image,
    component_version,
    next_image,
    project_version,
    stage_context,
)
from imagebuild.common import fail, image_id, images_cache, log, manifest_path, require_tools
from imagebuild.nextjs import build_context
from imagebuild.rootfs import build_base_debian, build_python_base


def print_table(rows: list[tuple[str, str, str]]) -> None:
    """Print the images built or found, with their archive sizes."""
    log("")
    width = max(len(ref) for ref, _, _ in rows)
    print(f"{'image':<{width}}  {'archive MB':>10}  status", flush=True)
    for ref, size, status in rows:
        print(f"{ref:<{width}}  {size:>10}  {status}", flush=True)


def write_manifest(entries: dict[str, dict[str, str]]) -> None:
    """Record what this run produced in $CACHE/images/manifest.json (merged with earlier)."""
    path = manifest_path()
    current = json.loads(path.read_text()) if path.is_file() else {}
    current.update(entries)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Build the images the command line names."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", choices=["apps", "components", "fixtures", "next", "all"])
    parser.add_argument(
        "--require-all-components",
        action="store_true",
        help="fail when a component's binary is missing in $CACHE/bin",
    )
    parser.add_argument(
        "--component-version",
        action="append",
        default=[],
        metavar="NAME=VERSION",
        help="tag a component image with this version",
    )
    parser.add_argument(
        "--refresh-base",
        action="store_true",
        help="debootstrap the base again (picks up new Debian updates)",
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if up to date, without layer cache"
    )
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.component_version)

    started = time.monotonic()
    require_tools("buildah", "debootstrap", "chroot", "tar")
    (images_cache() / "logs").mkdir(parents=True, exist_ok=True)
    # One build at a time per cache: two would race on the stamps, archives and tags.
    lock = (images_cache() / ".lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log("another `images/build.py` is running on this cache; waiting for it")
        fcntl.flock(lock, fcntl.LOCK_EX)
    base_debian = build_base_debian(refresh=args.refresh_base)
    rows: list[tuple[str, str, str]] = []
    manifest: dict[str, dict[str, str]] = {}

    def record(image: Image, status: str, base_ref: str) -> None:
        size = f"{image.archive.stat().st_size / 1e6:.1f}" if image.archive.is_file() else "-"
        rows.append((image.ref, size, status))
        manifest[image.name] = {
            "ref": image.ref,
            "archive": str(image.archive),
            "image_id": image_id(image.ref) or "",
            "base": base_ref,
        }

    python_apps = {"apps": APPS, "fixtures": FIXTURES, "all": APPS}.get(args.group, ())
    if python_apps:
        python_base = build_python_base(base_debian, force=args.force)
        version = project_version()
        for name in python_apps:
            image = app_image(name, version)
            record(image, build_image(image, base_ref=python_base, force=args.force), python_base)

    if args.group in ("components", "all"):
        for component in COMPONENTS:
            context = stage_context(component)
            if context is None:
                if args.require_all_components:
                    fail(
                        f"{component.name}: no binary ($CACHE/bin/{component.name}); "
                        "build them first: python3 tools/gotools.py cluster-addons"
                    )
                rows.append((f"{component.name} (no binary yet)", "-", "skipped"))
                continue
            component_tag = component_version(component, overrides)
            image = component_image(component, component_tag, context)
            base_ref = base_debian if component.on_debian else None
            record(
                image,
                build_image(image, base_ref=base_ref, force=args.force),
                base_ref or "scratch",
            )

    if args.group == "next":
        image = next_image(project_version(), build_context())
        record(image, build_image(image, base_ref=base_debian, force=args.force), base_debian)

    write_manifest(manifest)
    if rows:
        print_table(rows)
    log(f"{args.group}: done in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
