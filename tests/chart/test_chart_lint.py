"""chart-testing's lint (`ct lint`) with the tools it runs, since ct itself is not served here.

yamllint with ct's default rules on Chart.yaml, values.yaml and the example values files (ct
lints its `ci/*-values.yaml` too), and yamale with ct's schema of Chart.yaml; both files are
in .ct/, where ct looks for them. The version rule of `ct lint` is in test_versioning.py.
"""

import subprocess
import sys

import pytest
import yamale
import yaml
from conftest import ROOT

LINT_RULES = ROOT / ".ct" / "lintconf.yaml"
CHART_SCHEMA = ROOT / ".ct" / "chart_schema.yaml"


def yamllint(*paths):
    return subprocess.run(
        [sys.executable, "-m", "yamllint", "--strict", "-c", str(LINT_RULES), *map(str, paths)],
        capture_output=True,
        text=True,
    )


def chart_yaml_errors(path):
    """yamale's findings on a Chart.yaml against chart-testing's schema (empty: valid)."""
    try:
        yamale.validate(yamale.make_schema(str(CHART_SCHEMA)), yamale.make_data(str(path)))
    except yamale.YamaleError as error:
        return [str(problem) for result in error.results for problem in result.errors]
    return []


def test_yamllint_passes_on_the_chart_and_example_values(chart_dir):
    examples = sorted((ROOT / "examples").glob("values-*.yaml"))
    assert examples
    result = yamllint(chart_dir / "Chart.yaml", chart_dir / "values.yaml", *examples)
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint_reports_what_the_rules_forbid(tmp_path):
    bad = tmp_path / "values.yaml"
    bad.write_text("replicaCount: 1 \nreplicaCount: 2\n")
    result = yamllint(bad)
    assert result.returncode != 0
    assert "trailing-spaces" in result.stdout
    assert "key-duplicates" in result.stdout


def test_chart_yaml_follows_chart_testings_schema(chart_dir):
    assert chart_yaml_errors(chart_dir / "Chart.yaml") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": None}, "version: Required field missing"),
        ({"keywords": "todo"}, "keywords: 'todo' is not a list."),
        ({"maintainers": [{"email": "ops@example.com"}]}, "maintainers.0.name: Required field"),
    ],
)
def test_chart_yaml_schema_names_the_bad_key(chart_dir, tmp_path, change, message):
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    chart.update(change)
    broken = tmp_path / "Chart.yaml"
    broken.write_text(yaml.safe_dump({k: v for k, v in chart.items() if v is not None}))
    assert any(error.startswith(message) for error in chart_yaml_errors(broken))
