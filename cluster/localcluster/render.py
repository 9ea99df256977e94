"""Fill the configuration templates of cluster/templates with this cluster's values."""

from __future__ import annotations

from pathlib import Path
from string import Template

from .settings import Paths


def render(paths: Paths, template: str, destination: Path, **values: object) -> Path:
    """Write `template` with `${name}` placeholders substituted; a missing value is an error."""
    text = Template((paths.templates / template).read_text()).substitute(
        {k: str(v) for k, v in values.items()}
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(text)
    return destination
