"""The images the tests build on demand: the fixture images (app/foreign) and the Next.js frontend.

CI time: `make images` leaves them out, so only a run that needs them pays for the build;
an unchanged image is found in the cache in a few seconds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The image build's package (images/imagebuild) is not installed.
sys.path.insert(0, str(REPO / "images"))
from imagebuild import nextjs  # noqa: E402


def build_group(group: str) -> None:
    """Run `images/build.py GROUP` as its make target does; fail the test with its last lines."""
    built = subprocess.run(
        ["python3", str(REPO / "images" / "build.py"), group],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"images/build.py {group} failed:\n{(built.stdout + built.stderr)[-3000:]}")


def build_fixture_images() -> None:
    """Build (or find) every fixture image (`make fixture-images`)."""
    build_group("fixtures")


def build_next_image() -> Path:
    """Build (or find) the Next.js frontend's image (`make next-image`).

    Returns the host build it was made from (`node`, `standalone/`), which runs as it is.
    """
    build_group("next")
    return nextjs.context_dir()
