"""Tools pinned in two places must agree, or the host and the environment drift apart."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pipenv_pin_is_the_same_on_the_host_and_in_the_environment():
    host = (ROOT / "tools" / "requirements-pipenv.txt").read_text()
    (host_pin,) = re.findall(r"^pipenv==(\S+)$", host, flags=re.MULTILINE)
    pipfile = tomllib.loads((ROOT / "Pipfile").read_text())
    assert pipfile["dev-packages"]["pipenv"] == f"=={host_pin}"
