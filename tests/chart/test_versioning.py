"""The version policy (docs/versioning.md): releases on record, the bump rule, the CHANGELOG."""

import re
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, VERSION, tool_path
from support import released_chart
from support.released_chart import releases

CHANGELOG = ROOT / "CHANGELOG.md"
CHART = "dist/todo-chatbot"
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
ENTRY = re.compile(r"^## (\S+) \((unreleased|\d{4}-\d{2}-\d{2})\)$", flags=re.MULTILINE)


def semver(version: str) -> tuple[int, ...]:
    found = SEMVER.fullmatch(version)
    assert found, f"{version!r} is not a SemVer release version (MAJOR.MINOR.PATCH)"
    return tuple(int(part) for part in found.groups())


def bump_problem(last_release: str, current: str, *, chart_changed: bool) -> str | None:
    """What breaks chart-testing's version rule, or None: a changed chart needs a new version."""
    if semver(current) < semver(last_release):
        return f"VERSION {current} is below the last release {last_release}"
    if chart_changed and semver(current) == semver(last_release):
        return (
            f"{CHART} changed since release {last_release}: "
            f"VERSION must be above {last_release} (docs/versioning.md)"
        )
    return None


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def test_version_is_semver():
    semver(VERSION)


def test_releases_are_on_record_oldest_first_with_their_commits():
    recorded = releases()
    versions = [semver(release["version"]) for release in recorded]
    assert versions == sorted(set(versions))
    for release in recorded:
        found = git("cat-file", "-e", f"{release['commit']}^{{commit}}")
        assert found.returncode == 0, f"{release['version']}: commit {release['commit']} unknown"


@pytest.mark.parametrize("version", [release["version"] for release in releases()])
def test_each_release_is_packaged_again_from_its_commit(version, tmp_path):
    # A fresh cache: the package is made from the commit here, not taken from an earlier run.
    built = released_chart.package(version, helm=Path(tool_path("helm")), cache=tmp_path)
    assert built.name == f"todo-chatbot-{version}.tgz"


@pytest.mark.parametrize(
    ("current", "changed", "problem"),
    [
        ("0.1.0", False, None),
        ("0.1.1", True, None),
        ("0.1.0", True, "VERSION must be above 0.1.0"),
        ("0.0.9", False, "VERSION 0.0.9 is below the last release 0.1.0"),
    ],
)
def test_bump_rule(current, changed, problem):
    found = bump_problem("0.1.0", current, chart_changed=changed)
    assert (found is None) if problem is None else (problem in found)


def test_version_is_above_the_last_release_when_the_chart_changed():
    last = releases()[-1]
    # Against the working tree, so an uncommitted chart change counts too.
    diff = git("diff", "--quiet", last["commit"], "--", CHART)
    assert diff.returncode in (0, 1), diff.stderr
    problem = bump_problem(last["version"], VERSION, chart_changed=diff.returncode == 1)
    assert problem is None


def test_changelog_has_an_entry_per_version_newest_first_starting_with_version():
    entries = ENTRY.findall(CHANGELOG.read_text())
    versions = [version for version, _ in entries]
    assert versions[0] == VERSION
    assert [semver(v) for v in versions] == sorted({semver(v) for v in versions}, reverse=True)
    released = {release["version"] for release in releases()}
    assert released <= set(versions)
    for version, date in entries:
        # A released version has its date; only a version not released yet is "unreleased".
        assert (date != "unreleased") == (version in released), (version, date)
