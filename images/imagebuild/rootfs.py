"""The bases every image builds on: base-debian (a debootstrap rootfs) and base-python.

base-debian is `debootstrap --variant=minbase` from the host's Debian mirror plus
ca-certificates and the security updates, scrubbed of apt lists, logs and the host's DNS
settings, committed from scratch; base-python adds Debian's python3 (images/base-python).
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .buildah import Image, build_image, inputs_digest
from .common import (
    IMAGES_DIR,
    LOCAL_PREFIX,
    capture,
    digest,
    fail,
    image_id,
    images_cache,
    log,
    run,
)

DEBIAN_SUITE = "bookworm"
# The Debian packages every image built on Debian needs; the rest come per image.
DEBIAN_INCLUDE = ("ca-certificates",)
# Bumping this rebuilds base-debian even when nothing else changed (the scrub recipe below).
BASE_RECIPE_REVISION = "1"


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
