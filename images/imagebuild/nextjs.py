"""The Next.js frontend's build on the host: `npm ci` and `next build` into its image's context.

app/frontend-next/Containerfile only copies files, so the image build itself reaches no
network: `npm ci` takes the dependencies from the npm registry through package-lock.json
(npm's cache makes a repeat offline), and `npm run build` makes Next.js's standalone output
and the bundled migration script. Both run with the Node.js of tools/toolchain/node.py (Node
24 LTS from the npm registry's node-linux-<arch> package, installed here if `make setup-node`
has not): Debian bookworm's nodejs 18 is older than Next.js 16 accepts (20.9). The context
holds that binary too, which the image runs.

The build runs again only when a source file changes (their digest is kept in the staging
folder): `next build` takes about a minute on two cores.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from toolchain.installer import install
from toolchain.node import NODE

from .catalogue import NEXT
from .common import APP_DIR, digest, images_cache, log, run

APP = APP_DIR / NEXT
# What `next build` reads; node_modules and .next are made in the staging copy.
SOURCES = ("package.json", "package-lock.json", "tsconfig.json", "next.config.ts", "src", "scripts")


def staging_dir() -> Path:
    """The folder of the host build (build/) and of the image's context (context/)."""
    return images_cache() / "contexts" / NEXT


def context_dir() -> Path:
    """The image's build context: `node` and `standalone/` (server.js, migrate.mjs, .next)."""
    return staging_dir() / "context"


def source_digest() -> str:
    """A digest of every source file, names and contents."""
    parts: list[str | bytes] = []
    for name in SOURCES:
        root = APP / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            parts += [str(path.relative_to(APP)), path.read_bytes()]
    return digest(parts)


def node_binary() -> Path:
    """Install the pinned Node.js unless it is (tools/toolchain/node.py) and return its binary."""
    install(NODE, force=False)
    return NODE.folder / "node"


def build_context() -> Path:
    """Build the app on the host unless its sources are unchanged; return the image's context."""
    node = node_binary()
    build, context = staging_dir() / "build", context_dir()
    stamp = staging_dir() / "source-digest"
    wanted = source_digest()
    if not (stamp.is_file() and stamp.read_text() == wanted and (context / "standalone").is_dir()):
        started = time.monotonic()
        log(f"{NEXT}: npm ci and next build in {build}")
        shutil.rmtree(build, ignore_errors=True)
        build.mkdir(parents=True)
        for name in SOURCES:
            source = APP / name
            if source.is_dir():
                shutil.copytree(source, build / name)
            else:
                shutil.copy2(source, build / name)
        env = {
            **os.environ,
            "PATH": f"{node.parent}:{os.environ['PATH']}",
            "NEXT_TELEMETRY_DISABLED": "1",
        }
        logs = images_cache() / "logs"
        prefix = ["npm", "--prefix", str(build)]
        run(
            [*prefix, "ci", "--no-audit", "--no-fund"],
            what=f"npm ci {NEXT}",
            env=env,
            log_file=logs / f"{NEXT}-npm-ci.log",
        )
        run(
            [*prefix, "run", "build"],
            what=f"next build {NEXT}",
            env=env,
            log_file=logs / f"{NEXT}-build.log",
        )
        shutil.rmtree(context, ignore_errors=True)
        context.mkdir(parents=True)
        shutil.copytree(build / ".next" / "standalone", context / "standalone", symlinks=True)
        shutil.copytree(build / ".next" / "static", context / "standalone" / ".next" / "static")
        stamp.write_text(wanted)
        log(f"{NEXT}: built on the host in {time.monotonic() - started:.0f} s")
    binary = context / "node"
    # copy2 keeps the modification time: another size or time is another Node build.
    if not binary.is_file() or (binary.stat().st_size, binary.stat().st_mtime_ns) != (
        node.stat().st_size,
        node.stat().st_mtime_ns,
    ):
        shutil.copy2(node, binary)
    return context
