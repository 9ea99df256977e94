"""The app Dockerfiles follow the image contract before anything is built.

The fixture's (app/foreign) follows the same build rules, not the contract.
"""

from __future__ import annotations

import re

import pytest
from image_helpers import APPS, FIXTURES, REPO, contract_port
from todo_common.config import DEFAULT_METRICS_PORT

pytestmark = pytest.mark.images


def instructions(app: str) -> list[tuple[str, str]]:
    """Return what builds the app's image as (KEYWORD, arguments), continuations joined.

    The apps share app/Dockerfile, whose last stages are one per app (the build's target):
    the other apps' stages are left out.
    """
    path = REPO / "app" / ("Dockerfile" if app in APPS else f"{app}/Dockerfile")
    text = re.sub(r"\\\n", " ", path.read_text())
    pairs = []
    other_stage = False
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            if keyword.upper() == "FROM":
                other_stage = any(rest.endswith(f" AS {other}") for other in APPS if other != app)
            if not other_stage:
                pairs.append((keyword.upper(), rest.strip()))
    return pairs


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The steps from the last stage that starts from the base image on."""
    froms = [i for i, (keyword, rest) in enumerate(steps) if keyword == "FROM"]
    start = max(i for i in froms if steps[i][1].startswith("${BASE_IMAGE}"))
    return steps[start:]


@pytest.mark.parametrize("app", (*APPS, *FIXTURES))
def test_base_image_is_a_build_argument_defaulting_to_the_public_python(app: str) -> None:
    steps = instructions(app)
    assert steps[0] == ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm")
    froms = [rest for keyword, rest in steps if keyword == "FROM"]
    stages = [rest.split(" AS ")[1] for rest in froms if " AS " in rest]
    # Every stage starts from the base image or from an earlier stage.
    assert froms and all(
        rest.startswith("${BASE_IMAGE}") or rest.split()[0] in stages[:index]
        for index, rest in enumerate(froms)
    )


@pytest.mark.parametrize("app", (*APPS, *FIXTURES))
def test_is_multi_stage_and_the_final_stage_copies_from_the_builder(app: str) -> None:
    steps = instructions(app)
    froms = [index for index, (keyword, _) in enumerate(steps) if keyword == "FROM"]
    assert len(froms) >= 2
    assert steps[froms[0]][1].endswith(" AS builder")
    final = final_stage(steps)
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in final
    # The final stage installs nothing itself: every package comes from the builder.
    assert not [rest for keyword, rest in final if keyword == "RUN" and "pip" in rest]


@pytest.mark.parametrize("app", APPS)
def test_final_stage_runs_the_app_as_10001_on_the_contract_ports(app: str) -> None:
    steps = instructions(app)
    assert ("USER", "10001:10001") in steps
    assert ("EXPOSE", f"{contract_port(app)} {DEFAULT_METRICS_PORT}") in steps
    assert steps[-1] == ("CMD", f'["python", "-m", "todo_{app}"]')


@pytest.mark.parametrize("app", (*APPS, *FIXTURES))
def test_pip_keeps_no_cache(app: str) -> None:
    runs = [
        rest for keyword, rest in instructions(app) if keyword == "RUN" and "pip install" in rest
    ]
    assert runs and all("--no-cache-dir" in rest for rest in runs)
