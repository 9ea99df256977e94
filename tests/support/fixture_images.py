"""The test fixture images (app/foreign), built on demand by the tests that run them.

CI time: `make images` leaves them out, so only a run that needs them pays for the build;
an unchanged image is found in the cache in a few seconds.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What `make fixture-images` runs.
BUILD_COMMAND = ["python3", str(REPO / "images" / "build.py"), "fixtures"]


def build_fixture_images() -> None:
    """Build (or find) every fixture image; fail the test with the build's last lines."""
    built = subprocess.run(BUILD_COMMAND, capture_output=True, text=True, check=False)
    if built.returncode != 0:
        pytest.fail(f"images/build.py fixtures failed:\n{(built.stdout + built.stderr)[-3000:]}")
