"""Settings every test needs before any import of cdk8s."""

import os
from pathlib import Path

# jsii starts the `node` on PATH: the pinned Node LTS that `make setup-node` links into
# $CACHE/bin, first on PATH as in the Makefile, also when pytest is run on its own.
CACHE_BIN = Path(os.environ.get("CACHE") or Path.home() / ".cache" / "todo-chatbot") / "bin"
os.environ["PATH"] = f"{CACHE_BIN}{os.pathsep}{os.environ['PATH']}"
