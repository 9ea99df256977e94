"""The chart is built, not hand-written: current, reproducible, lint-clean, packaged."""

import filecmp
import hashlib
import os
import subprocess
from pathlib import Path

from conftest import ROOT, VERSION, build_chart, tool_path


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_committed_chart_matches_the_code(chart_dir):
    committed = ROOT / "dist" / "todo-chatbot"
    assert tree(committed) == tree(chart_dir), "run `make chart` and commit dist/todo-chatbot"


def test_two_builds_are_identical(chart_dir, tmp_path):
    again = build_chart(tmp_path)
    comparison = filecmp.dircmp(chart_dir, again)
    assert tree(again) == tree(chart_dir), comparison.diff_files


def test_lint_is_clean(helm, chart_dir):
    result = subprocess.run(
        [
            helm,
            "lint",
            "--strict",
            str(chart_dir),
            "-f",
            str(ROOT / "examples" / "values-existing-secret.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_is_reproducible_and_versioned(chart_dir, tmp_path):
    # Helm 4, the pinned packager: Helm 3 stamps archive entries with the current time.
    helm = tool_path("helm")
    digests = []
    for attempt in ("one", "two"):
        subprocess.run(
            [helm, "package", str(chart_dir), "--destination", str(tmp_path / attempt)],
            check=True,
            capture_output=True,
        )
        package = tmp_path / attempt / f"todo-chatbot-{VERSION}.tgz"
        digests.append(hashlib.sha256(package.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_cdk8s_synth_runs_main_py_through_pipenv(tmp_path, chart_dir):
    env = {**os.environ, "PIPENV_VERBOSITY": "-1"}
    result = subprocess.run(
        [
            str(ROOT / "node_modules" / ".bin" / "cdk8s"),
            "synth",
            "--no-check-upgrade",
            "--output",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    synthesized = (tmp_path / "todo-chatbot.k8s.yaml").read_text()
    assert synthesized == (chart_dir.parent / "todo-chatbot.k8s.yaml").read_text()
