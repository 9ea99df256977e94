"""Images built from a Containerfile with buildah: the inputs digest, the build, the export."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from toolchain.progress import Progress

from .common import capture, digest, image_id, images_cache, log, run, tree_digest
from .wheels import build_wheels

ARCHIVE_FORMAT = "docker-archive"

# buildah prints each instruction as it starts it: `STEP 3/9: RUN ...`, prefixed with
# `[1/2] ` in a multi-stage build.
BUILDAH_STEP = re.compile(r"(\[\d+/\d+\] )?STEP \d+/\d+: .*")


class BuildahSteps(Progress):
    """Follow the instruction a `buildah build` runs, from its STEP lines."""

    def __init__(self) -> None:
        self.step = ""

    def feed(self, line: str) -> None:
        """Remember the last STEP line (shortened: a RUN line can be long)."""
        if BUILDAH_STEP.fullmatch(line.strip()):
            text = " ".join(line.split())
            self.step = text if len(text) <= 72 else text[:71] + "…"

    def describe(self) -> str:
        """Return the step the build is at, or "" before the first one."""
        return self.step


@dataclass
class Image:
    """One image built from a Containerfile.

    `inputs` are the files and folders whose contents shape the image besides the
    Containerfile; `requirements` names a pip requirements file whose wheels are built on the
    host and mounted into the build (pip then never goes to the network); `export` writes the
    docker-archive for containerd.
    """

    name: str
    ref: str
    containerfile: Path
    context: Path
    inputs: list[Path] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    """Labels the build sets on the image (`--label`), besides the Containerfile's."""
    target: str | None = None
    """The containerfile's stage to build; default: its last."""
    requirements: Path | None = None
    export: bool = True

    @property
    def archive(self) -> Path:
        """The docker-archive containerd imports."""
        tag = self.ref.rsplit(":", 1)[1]
        return images_cache() / f"{self.name}-{tag}.tar"

    @property
    def stamp(self) -> Path:
        """The file that records the inputs digest of the last successful build."""
        return images_cache() / "stamps" / f"{self.name}.json"


def inputs_digest(image: Image, base_ref: str | None, wheels: Path | None) -> str:
    """Hash everything that shapes the image: a different digest means a rebuild."""
    base_id = image_id(base_ref) if base_ref else ""
    # The folder's digest covers the requirements and constraints; the names, the versions.
    wheel_names = [wheels.name, *sorted(p.name for p in wheels.glob("*.whl"))] if wheels else []
    return digest(
        [
            image.ref,
            image.containerfile.read_text(),
            tree_digest(image.inputs),
            base_id or "",
            json.dumps(image.build_args, sort_keys=True),
            json.dumps(image.labels, sort_keys=True),
            image.target or "",
            *wheel_names,
        ]
    )


def is_current(image: Image, inputs: str) -> bool:
    """Tell whether the last build of these inputs is still in the store and on disk.

    An archive whose image left buildah's store (a pruned store) is loaded back from the
    archive instead of being rebuilt.
    """
    if not image.stamp.is_file():
        return False
    stamp: dict[str, str] = json.loads(image.stamp.read_text())
    if stamp.get("inputs") != inputs or (image.export and not image.archive.is_file()):
        return False
    if image_id(image.ref) == stamp.get("image_id"):
        return True
    if image.export:
        run(
            ["buildah", "pull", "--quiet", f"{ARCHIVE_FORMAT}:{image.archive}"],
            what=f"load {image.archive.name} back into buildah's store",
        )
        run(["buildah", "tag", stamp["image_id"], image.ref], what="buildah tag")
        return image_id(image.ref) == stamp.get("image_id")
    return False


def build_image(image: Image, *, base_ref: str | None, force: bool) -> str:
    """Build one image unless its inputs are unchanged; export it; return 'built' or 'cached'."""
    wheels = build_wheels(image.requirements) if image.requirements else None
    inputs = inputs_digest(image, base_ref, wheels)
    if not force and is_current(image, inputs):
        log(f"{image.name}: {image.ref} (cached)")
        return "cached"
    started = time.monotonic()
    previous_id = image_id(image.ref)
    log(f"{image.name}: building {image.ref}")
    command = [
        "buildah",
        "build",
        "--pull=never",
        "--isolation=chroot",
        "--layers",
        *(["--no-cache"] if force else []),
        # chroot isolation offers no other network; the app builds install with --no-index.
        "--network=host",
        "-f",
        str(image.containerfile),
        *(["--target", image.target] if image.target else []),
        "-t",
        image.ref,
    ]
    build_args = dict(image.build_args)
    if base_ref:
        build_args["BASE_IMAGE"] = base_ref
    if wheels:
        # /mnt already exists in the base: buildah would leave an empty mount point folder in
        # every RUN layer of the image (the final stage's too) for a path it had to create.
        command += ["-v", f"{wheels}:/mnt:ro"]
        build_args["PIP_INSTALL_OPTIONS"] = "--no-index --find-links=/mnt"
        build_args["PIP_WHEELS"] = wheels.name
    for key, value in sorted(build_args.items()):
        command += ["--build-arg", f"{key}={value}"]
    for key, value in sorted(image.labels.items()):
        command += ["--label", f"{key}={value}"]
    log_file = images_cache() / "logs" / f"{image.name}.log"
    run(
        [*command, str(image.context)],
        what=f"buildah build {image.name}",
        log_file=log_file,
        progress=BuildahSteps(),
    )
    new_id = image_id(image.ref)
    if previous_id and previous_id != new_id:
        # The superseded build, now untagged; its cached parent layers stay for the next build.
        capture(["buildah", "rmi", previous_id])
    if image.export:
        export(image)
    image.stamp.parent.mkdir(parents=True, exist_ok=True)
    image.stamp.write_text(json.dumps({"inputs": inputs, "image_id": new_id}) + "\n")
    log(f"{image.name}: built in {time.monotonic() - started:.0f} s")
    return "built"


def export(image: Image) -> None:
    """Write the image's docker-archive atomically (a half-written archive never stays)."""
    staged = image.archive.with_name(f".{image.archive.name}.part")
    staged.unlink(missing_ok=True)
    run(
        ["buildah", "push", "--quiet", image.ref, f"{ARCHIVE_FORMAT}:{staged}:{image.ref}"],
        what=f"export {image.archive.name}",
    )
    staged.replace(image.archive)
