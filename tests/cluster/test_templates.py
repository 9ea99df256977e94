"""Templates: every `$` is a `${name}` placeholder or an escaped `$$`, so rendering never trips."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

TEMPLATES = Path(__file__).resolve().parents[2] / "cluster" / "templates"
# string.Template reads `$name` as a placeholder too: a bare one (say `$CACHE` in a comment)
# makes the render fail with a KeyError at `up`.
BARE_DOLLAR = re.compile(r"(?<!\$)\$(?!\$|\{)")


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(TEMPLATES) for p in TEMPLATES.rglob("*") if p.is_file())
)
def test_template_has_no_bare_dollar(template: Path) -> None:
    text = (TEMPLATES / template).read_text()
    text = text.replace("$$", "")
    assert not BARE_DOLLAR.findall(text), [
        line for line in text.splitlines() if BARE_DOLLAR.search(line)
    ]
