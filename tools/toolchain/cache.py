"""Where the project keeps what it builds: tools, images, wheels, module and build caches."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Return the project's build cache, $CACHE or ~/.cache/todo-chatbot."""
    return Path(os.environ.get("CACHE") or Path.home() / ".cache" / "todo-chatbot")
