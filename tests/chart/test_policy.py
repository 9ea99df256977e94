"""checkov policies pass on the rendered chart; skips are justified in .checkov.yaml."""

import json
import subprocess

import pytest
import yaml
from conftest import ROOT, tool_path
from test_render import SCENARIOS

CONFIG = ROOT / ".checkov.yaml"
ACCEPTED = {"example-own-images-proxy": {"CKV_K8S_40"}}
"""Checks a scenario fails by the operator's choice: that image needs uid 1001 (a low uid,
CKV_K8S_40), which NOTES names as an override of the chart's uid 10001."""


@pytest.fixture(scope="module")
def checkov() -> str:
    return tool_path("checkov")


@pytest.mark.parametrize(
    "scenario",
    [
        "defaults",
        "example-file",
        "autoscaling",
        "http-route",
        "migrations",
        "metrics-service-monitor",
        "example-own-images-proxy",
    ],
)
def test_no_failed_policy_checks(render, checkov, tmp_path, scenario):
    values = SCENARIOS[scenario]
    manifests = render(values, with_credentials="existingSecret" not in values.get("secrets", {}))
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(manifests))
    result = subprocess.run(
        [checkov, "--config-file", str(CONFIG), "-f", str(rendered), "-o", "json"],
        capture_output=True,
        text=True,
    )
    report = json.loads(result.stdout)
    failed = [
        (check["check_id"], check["resource"])
        for check in report["results"]["failed_checks"]
        if check["check_id"] not in ACCEPTED.get(scenario, set())
    ]
    assert failed == []
    assert report["summary"]["passed"] > 100


def test_every_skipped_check_is_explained():
    lines = CONFIG.read_text().splitlines()
    skips = [i for i, line in enumerate(lines) if line.strip().startswith("- CKV")]
    for index in skips:
        above = [line for line in lines[:index] if line.strip()][-1].strip()
        assert above.startswith(("#", "- CKV")), f"{lines[index].strip()} has no reason above it"
