"""Build the project's container images offline with buildah, cached under $CACHE/images.

Usage: python3 images/build.py apps|components|fixtures|all [--require-all-components]
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
4. the cluster's component images (images/<name>/Containerfile) around the static binaries
   that `tools/gotools.py` builds into $CACHE/bin; a missing binary is skipped unless
   --require-all-components is given.

Each exported image is written to $CACHE/images/<name>-<tag>.tar (docker-archive, which
`ctr images import` reads) and kept in buildah's local store. A digest of every input (the
Containerfile, the files it copies, the base image's ID, the build arguments) is stamped next
to the archive: an unchanged image is not rebuilt. $CACHE/images/manifest.json lists what the
last run produced, for the tests and the cluster scripts.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

REPO = Path(__file__).resolve().parent.parent
# tools/ is no package: its folder goes on the path so that tools/gotools.py (the toolchain's
# pins, the cache folder and the run-with-progress helper) imports whether this file runs as
# a script or is imported by the tests.
sys.path.insert(0, str(REPO / "tools"))
# The local cluster's settings (stdlib and toolchain only) define the registry the images are
# tagged for; cluster/ is no package either.
sys.path.insert(0, str(REPO / "cluster"))
import gotools  # noqa: E402
from localcluster.settings import REGISTRY  # noqa: E402

IMAGES_DIR = REPO / "images"
APP_DIR = REPO / "app"

# The chart's default repositories (values.yaml: image.repository), under REGISTRY.
PROJECT = "todo-chatbot"
# Local-only images (never pushed) are named under localhost/ so no registry is ever asked.
LOCAL_PREFIX = f"localhost/{PROJECT}"

DEBIAN_SUITE = "bookworm"
# The Debian packages every image built on Debian needs; the rest come per image.
DEBIAN_INCLUDE = ("ca-certificates",)
# Bumping this rebuilds base-debian even when nothing else changed (the scrub recipe below).
BASE_RECIPE_REVISION = "1"

PAUSE_TAG = "3.10"

ARCHIVE_FORMAT = "docker-archive"


def images_cache() -> Path:
    """Return the folder of image archives, stamps and logs."""
    return gotools.cache_dir() / "images"


def log(message: str) -> None:
    """Print one progress line at once (make and CI show it while the build runs)."""
    print(f"[images] {message}", flush=True)


def fail(message: str) -> NoReturn:
    """Stop the build with one clear line."""
    sys.exit(f"images: {message}")


# buildah prints each instruction as it starts it: `STEP 3/9: RUN ...`, prefixed with
# `[1/2] ` in a multi-stage build.
BUILDAH_STEP = re.compile(r"(\[\d+/\d+\] )?STEP \d+/\d+: .*")


class BuildahSteps(gotools.Progress):
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


def run(
    command: Sequence[str],
    *,
    what: str,
    log_file: Path | None = None,
    env: dict[str, str] | None = None,
    progress: gotools.Progress | None = None,
) -> str:
    """Run a command with the toolchain's heartbeat (`[images]   ... what: how far, time`).

    The output goes to `log_file` when given (kept for a look after a long build); the end of
    it is printed when the command fails, and the build stops.
    """
    return gotools.run(
        command, what=what, program="images", env=env, log_file=log_file, progress=progress
    )


def capture(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run a quick command and return its result without failing."""
    return subprocess.run(command, capture_output=True, text=True, check=False)


def digest(parts: Iterable[str | bytes]) -> str:
    """Return a short SHA-256 of the parts, each one separated from the next."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return hasher.hexdigest()[:16]


def tree_digest(roots: Iterable[Path]) -> str:
    """Hash the names, modes and contents of every file under the roots (caches excluded)."""
    parts: list[str | bytes] = []
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            name = str(path.relative_to(root.parent))
            parts += [name, oct(path.stat().st_mode), path.read_bytes()]
    return digest(parts)


# ---- tools ------------------------------------------------------------------------------------


def require_tools(*names: str) -> None:
    """Stop with one line naming the first missing tool and how to install it."""
    for name in names:
        if shutil.which(name) is None:
            fail(f"'{name}' is not installed; run `make setup-images` (Debian packages)")
    if os.geteuid() != 0:
        fail("building images needs root (debootstrap and buildah's chroot isolation)")


def image_id(ref: str) -> str | None:
    """Return the ID of a local buildah image, or None when the store lacks it."""
    result = capture(["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref])
    return result.stdout.strip() or None if result.returncode == 0 else None


# ---- base-debian ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AptSource:
    """One deb822 apt source: where the Debian archive lives and which suites it serves."""

    uri: str
    suites: tuple[str, ...]


def host_apt_sources(apt_dir: Path = Path("/etc/apt")) -> list[AptSource]:
    """Read the host's Debian sources (one-line and deb822) for the mirror debootstrap uses.

    The machine reaches Debian only through its configured mirror, so the image's apt sources
    and debootstrap use exactly those URIs.
    """
    sources: list[AptSource] = []
    for path in [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]:
        if not path.is_file():
            continue
        text = path.read_text()
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(
                    (key.strip().lower(), value.strip())
                    for key, value in (
                        line.split(":", 1)
                        for line in stanza.splitlines()
                        if ":" in line and not line.lstrip().startswith("#")
                    )
                )
                enabled = fields.get("enabled", "yes").lower() != "no"
                if enabled and "deb" in fields.get("types", "").split() and "uris" in fields:
                    suites = tuple(fields.get("suites", "").split())
                    sources += [AptSource(uri, suites) for uri in fields["uris"].split()]
        elif path.suffix == ".list":
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line).split()
                if len(words) >= 3 and words[0] == "deb":
                    sources.append(AptSource(words[1], (words[2],)))
    return [s for s in sources if any(suite.startswith(DEBIAN_SUITE) for suite in s.suites)]


def debian_sources() -> tuple[str, str]:
    """Return the main archive URI and the security archive URI of the host's Debian sources."""
    sources = host_apt_sources()
    main = [s.uri for s in sources if DEBIAN_SUITE in s.suites]
    security = [s.uri for s in sources if f"{DEBIAN_SUITE}-security" in s.suites]
    if not main:
        fail(f"no Debian '{DEBIAN_SUITE}' source in /etc/apt/sources.list*; debootstrap needs one")
    return main[0], security[0] if security else ""


def image_apt_sources(main: str, security: str) -> str:
    """Return the deb822 sources the images' apt uses (same mirror as the host)."""
    text = (
        f"Types: deb\nURIs: {main}\nSuites: {DEBIAN_SUITE} {DEBIAN_SUITE}-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    if security:
        text += (
            f"\nTypes: deb\nURIs: {security}\nSuites: {DEBIAN_SUITE}-security\n"
            "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        )
    return text


# Like the official Debian images: no docs, man pages or translations in any later apt layer
# either (copyright files stay), no recommends, and apt cleans its .deb files itself.
DPKG_SLIM = """\
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
"""
APT_SLIM = """\
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Acquire::GzipIndexes "true";
"""


def scrub_rootfs(rootfs: Path) -> None:
    """Remove what a container must not carry: host DNS and name, apt lists, logs, docs.

    debootstrap copies the host's resolv.conf and hostname into the target; they would leak
    this machine's settings into every image, and the runtime mounts its own anyway (the empty
    files stay as mount points for a read-only root filesystem).
    """
    for name in ("etc/resolv.conf", "etc/hostname", "etc/machine-id"):
        path = rootfs / name
        if path.exists() or path.is_symlink():
            path.unlink()
            path.write_text("")
    patterns = [
        "var/lib/apt/lists/*",
        "var/cache/apt/*.bin",
        "var/cache/apt/archives/*.deb",
        "var/cache/debconf/*-old",
        "var/lib/dpkg/*-old",
        "var/log/*.log",
        "var/log/apt/*",
        "tmp/*",
        "var/tmp/*",
        "root/.*",
        "usr/share/man/*",
        "usr/share/info/*",
        "usr/share/locale/*",
        "usr/share/lintian/*",
    ]
    for pattern in patterns:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for doc in (rootfs / "usr/share/doc").glob("*"):
        if doc.is_dir() and not doc.is_symlink():
            for path in doc.iterdir():
                if path.name != "copyright":
                    shutil.rmtree(path) if path.is_dir() else path.unlink()


def build_base_debian(*, refresh: bool) -> str:
    """Build (or find) base-debian and return its reference."""
    main, security = debian_sources()
    sources = image_apt_sources(main, security)
    key = digest(
        [BASE_RECIPE_REVISION, DEBIAN_SUITE, *DEBIAN_INCLUDE, sources, DPKG_SLIM, APT_SLIM]
    )
    ref = f"{LOCAL_PREFIX}/base-debian:{DEBIAN_SUITE}-{key}"
    if image_id(ref) and not refresh:
        log(f"base-debian: {ref} (cached)")
        return ref
    work = images_cache() / "rootfs"
    work.mkdir(parents=True, exist_ok=True)
    rootfs = Path(tempfile.mkdtemp(prefix="base-debian-", dir=work))
    started = time.monotonic()
    log(f"base-debian: debootstrap --variant=minbase {DEBIAN_SUITE} from {main} (about 40 s)")
    try:
        run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(DEBIAN_INCLUDE)}",
                DEBIAN_SUITE,
                str(rootfs),
                main,
            ],
            what="debootstrap",
            log_file=images_cache() / "logs" / "base-debian.log",
        )
        # The security fixes published after the point release debootstrap installs. Done
        # here, once, rather than in each image that installs packages: an upgrade in a later
        # layer would store every upgraded library twice (+23 MB in the app images).
        (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
        (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(sources)
        (rootfs / "etc/dpkg/dpkg.cfg.d/01-slim-image").write_text(DPKG_SLIM)
        (rootfs / "etc/apt/apt.conf.d/01-slim-image").write_text(APT_SLIM)
        log(f"base-debian: apt-get upgrade ({time.monotonic() - started:.0f} s so far)")
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "DEBIAN_FRONTEND": "noninteractive",
            "LANG": "C.UTF-8",
        }
        run(
            ["chroot", str(rootfs), "sh", "-c", "apt-get update -qq && apt-get -y -qq upgrade"],
            what="apt-get upgrade in the base rootfs",
            env=env,
            log_file=images_cache() / "logs" / "base-debian-upgrade.log",
        )
        scrub_rootfs(rootfs)
        commit_rootfs(
            rootfs,
            ref,
            labels={
                "org.opencontainers.image.title": "todo-chatbot base (Debian minbase)",
                "org.opencontainers.image.base.name": f"debian:{DEBIAN_SUITE} (debootstrap)",
            },
        )
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    drop_other_tags(ref)
    log(f"base-debian: {ref} built in {time.monotonic() - started:.0f} s")
    return ref


def commit_rootfs(rootfs: Path, ref: str, *, labels: dict[str, str]) -> None:
    """Commit a rootfs folder as a one-layer image, owners and modes kept."""
    container = capture(["buildah", "from", "scratch"]).stdout.strip()
    if not container:
        fail("`buildah from scratch` failed; is buildah's storage usable? (`buildah info`)")
    try:
        mount = run(["buildah", "mount", container], what="buildah mount").strip()
        run(
            [
                "sh",
                "-c",
                'tar -C "$1" --numeric-owner --xattrs -cf - . | '
                'tar -C "$2" --numeric-owner --xattrs --xattrs-include="*" -xpf -',
                "copy-rootfs",
                str(rootfs),
                mount,
            ],
            what="copy the rootfs into the image",
        )
        run(["buildah", "umount", container], what="buildah umount")
        config = [
            "buildah",
            "config",
            "--env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--env",
            "LANG=C.UTF-8",
            "--cmd",
            "/bin/bash",
        ]
        for key, value in labels.items():
            config += ["--label", f"{key}={value}"]
        run([*config, container], what="buildah config")
        run(["buildah", "commit", "--quiet", "--rm", container, ref], what="buildah commit")
    except SystemExit:
        capture(["buildah", "rm", container])
        raise


def drop_other_tags(ref: str) -> None:
    """Remove the other tags of a local base image's repository (earlier recipes' bases).

    Images built on an old base keep its layers; only the name goes.
    """
    repository = ref.rsplit(":", 1)[0]
    listed = capture(
        [
            "buildah",
            "images",
            "--format",
            "{{.Name}}:{{.Tag}}",
            "--filter",
            f"reference={repository}",
        ]
    ).stdout.split()
    for other in listed:
        if other != ref:
            capture(["buildah", "rmi", other])


# ---- images built from a Containerfile ------------------------------------------------------


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


def canonical_name(name: str) -> str:
    """Return a package name as PEP 503 normalizes it (`Typing_Extensions` -> typing-extensions)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_packages() -> dict[str, dict[str, Any]]:
    """Return every package of Pipfile.lock (both sections) by its normalized name."""
    lock = json.loads((REPO / "Pipfile.lock").read_text())
    merged = {**lock.get("develop", {}), **lock.get("default", {})}
    return {canonical_name(name): entry for name, entry in merged.items()}


def lock_constraints(packages: dict[str, dict[str, Any]]) -> str:
    """Return pip constraints pinning every package of Pipfile.lock.

    requirements.txt pins only the apps' direct dependencies; constraining the rest to the
    lock makes the images run exactly the versions the project's tests ran against, and a
    requirement that disagrees with the lock stops the build instead of drifting.
    """
    lines = []
    for name, entry in sorted(packages.items()):
        # Editable or path entries (the project itself) carry no version.
        if version := entry.get("version"):
            marker = entry.get("markers")
            lines.append(f"{name}{version}" + (f"; {marker}" if marker else ""))
    return "\n".join(lines) + "\n"


def hashed_requirements(
    resolved: Iterable[tuple[str, str]], packages: dict[str, dict[str, Any]]
) -> str:
    """Pin each resolved (name, version) with the sha256 hashes Pipfile.lock records for it.

    pip's --require-hashes then refuses any download whose hash the lock does not list.
    """
    lines = []
    for name, version in sorted(resolved, key=lambda pair: canonical_name(pair[0])):
        entry = packages.get(canonical_name(name), {})
        if entry.get("version") != f"=={version}" or not entry.get("hashes"):
            fail(
                f"wheels: {name}=={version} has no hashes in Pipfile.lock; "
                "add the package with pipenv so that the lock pins it"
            )
        hashes = " ".join(f"--hash={value}" for value in entry["hashes"])
        lines.append(f"{canonical_name(name)}=={version} {hashes}")
    return "\n".join(lines) + "\n"


class WheelCount(gotools.Progress):
    """Count the packages `pip wheel` has reached, out of the `total` it was asked for.

    pip prints `Collecting <name>` as it fetches each package (it saves the wheels only
    at the end).
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0

    def feed(self, line: str) -> None:
        """Count pip's `Collecting <package>` lines."""
        if line.startswith("Collecting "):
            self.done += 1

    def describe(self) -> str:
        """Return `collected/total packages`."""
        return f"{self.done}/{self.total} packages collected"


def build_wheels(requirements: Path) -> Path:
    """Build every wheel a requirements file needs into $CACHE/wheels/<name>-<digest>.

    pip first resolves the requirements within the lock's versions (a dry run that installs
    nothing); then every package it chose is pinned with the lock's hashes and `pip wheel
    --require-hashes` downloads and checks them. The host's Python 3.11 matches the images'
    (Debian's python3 is 3.11, as is the default public base), so its wheels install there
    unchanged. A folder is complete once its `.complete` marker exists; pip's own download
    cache sits under $CACHE/pip.
    """
    if sys.version_info[:2] != (3, 11):
        fail(
            f"the wheels are built with the host's Python, which must be 3.11 like the images' "
            f"(it is {sys.version.split()[0]})"
        )
    packages = lock_packages()
    constraints = lock_constraints(packages)
    app = requirements.parent.name
    key = digest(
        [
            requirements.read_text(),
            json.dumps(packages, sort_keys=True),
            sys.implementation.cache_tag,
        ]
    )
    folder = gotools.cache_dir() / "wheels" / f"{app}-{key}"
    if (folder / ".complete").exists():
        return folder
    started = time.monotonic()
    log(f"wheels: {requirements.relative_to(REPO)} within Pipfile.lock, hash-checked -> {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    constraints_file = folder / "constraints.txt"
    constraints_file.write_text(constraints)
    env = dict(os.environ, PIP_CACHE_DIR=str(gotools.cache_dir() / "pip"))
    env.pop("PIP_FIND_LINKS", None)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    report = folder / "resolved.json"
    run(
        [
            *pip,
            "install",
            "--dry-run",
            "--ignore-installed",
            "--root-user-action=ignore",
            "--report",
            str(report),
            "-r",
            str(requirements),
            "-c",
            str(constraints_file),
        ],
        what=f"pip resolve for {app}",
        env=env,
        log_file=images_cache() / "logs" / f"wheels-{app}-resolve.log",
    )
    chosen = json.loads(report.read_text())["install"]
    hashed = folder / "requirements-hashed.txt"
    hashed.write_text(
        hashed_requirements(
            ((item["metadata"]["name"], item["metadata"]["version"]) for item in chosen), packages
        )
    )
    run(
        [*pip[:-1], "wheel", "--require-hashes", "--wheel-dir", str(folder), "-r", str(hashed)],
        what=f"pip wheel for {app}",
        env=env,
        log_file=images_cache() / "logs" / f"wheels-{app}.log",
        progress=WheelCount(len(chosen)),
    )
    (folder / ".complete").write_text("")
    for stale in folder.parent.glob(f"{app}-*"):
        if stale != folder:
            shutil.rmtree(stale)
    log(f"wheels: {len(list(folder.glob('*.whl')))} wheels in {time.monotonic() - started:.0f} s")
    return folder


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


# ---- the images -------------------------------------------------------------------------------


def project_version() -> str:
    """Return the top-level VERSION (the chart's appVersion and the app images' tag)."""
    return (REPO / "VERSION").read_text().strip()


def source_url() -> str:
    """Return the git remote's URL for the images' source label, or 'unknown' without one."""
    result = capture(["git", "-C", str(REPO), "remote", "get-url", "origin"])
    return result.stdout.strip() if result.returncode == 0 else "unknown"


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

    `version` is the toolchain's pin in tools/gotools.py; `tag` fixes the image tag when it is
    not that version; `on_debian` gives the Containerfile base-debian as its BASE_IMAGE (for
    the CA bundle, setcap or iptables).
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
    Component("pause", gotools.PAUSE_VERSION, tag=PAUSE_TAG),
    Component("coredns", gotools.COREDNS_VERSION, on_debian=True),
    Component("metrics-server", gotools.METRICS_SERVER_VERSION, on_debian=True),
    Component("kube-router", gotools.KUBE_ROUTER_VERSION, on_debian=True),
    Component("traefik", gotools.TRAEFIK_VERSION, on_debian=True),
    # The local cluster's monitoring (cluster/localcluster/monitoring.py): the operator, the
    # sidecar it adds to Prometheus pods, and Prometheus, laid out as their upstream images.
    Component("prometheus-operator", gotools.PROMETHEUS_OPERATOR_VERSION),
    Component("prometheus-config-reloader", gotools.PROMETHEUS_OPERATOR_VERSION),
    Component("prometheus", gotools.PROMETHEUS_VERSION),
]


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
    binary = gotools.cache_dir() / "bin" / component.name
    if not binary.is_file():
        return None
    context = images_cache() / "contexts" / component.name
    context.mkdir(parents=True, exist_ok=True)
    target = context / component.name
    resolved = binary.resolve()
    if not target.is_file() or target.read_bytes() != resolved.read_bytes():
        shutil.copy2(resolved, target)
    return context


def build_python_base(base_debian: str, *, force: bool) -> str:
    """Build (or find) base-python, the app images' base, and return its reference."""
    python_base = Image(
        name="base-python",
        ref="",
        containerfile=IMAGES_DIR / "base-python" / "Containerfile",
        context=IMAGES_DIR / "base-python",
        export=False,
    )
    python_base.ref = (
        f"{LOCAL_PREFIX}/base-python:{DEBIAN_SUITE}-{inputs_digest(python_base, base_debian, None)}"
    )
    if build_image(python_base, base_ref=base_debian, force=force) == "built":
        drop_other_tags(python_base.ref)
    return python_base.ref


# ---- summary ----------------------------------------------------------------------------------


def print_table(rows: list[tuple[str, str, str]]) -> None:
    """Print the images built or found, with their archive sizes."""
    log("")
    width = max(len(ref) for ref, _, _ in rows)
    print(f"{'image':<{width}}  {'archive MB':>10}  status", flush=True)
    for ref, size, status in rows:
        print(f"{ref:<{width}}  {size:>10}  {status}", flush=True)


def write_manifest(entries: dict[str, dict[str, str]]) -> None:
    """Record what this run produced in $CACHE/images/manifest.json (merged with earlier)."""
    path = images_cache() / "manifest.json"
    current = json.loads(path.read_text()) if path.is_file() else {}
    current.update(entries)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Build the images the command line names."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", choices=["apps", "components", "fixtures", "all"])
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

    write_manifest(manifest)
    if rows:
        print_table(rows)
    log(f"{args.group}: done in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
