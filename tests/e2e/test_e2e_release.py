"""Signed OCI releases (`make release`): a verified install works, a tampered chart is refused.

The chart is signed and pushed as `make release` does (with its key), but to a repository of
this suite, so a release made with `make release` keeps its own. Helm 4 installs it for real
with `--verify`; Helm 3 verifies on `install --verify --dry-run=server`. A tampered package
(one value changed after signing, the provenance file kept) and one changed and signed by a
key the keyring lacks are refused by both before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ReleaseFactory, wait_until_served
from e2e_cluster import RELEASE, Release, helm, paths, private_file
from e2e_user import UserAgent
from localcluster import deploy, settings, signed_release
from localcluster.release import chart_folder
from support import tampered_chart

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

REPOSITORY = f"{settings.REGISTRY}/todo-chatbot/e2e-releases"
TAMPERED_REPOSITORY = f"{settings.REGISTRY}/todo-chatbot/e2e-tampered"
FOREIGN_REPOSITORY = f"{settings.REGISTRY}/todo-chatbot/e2e-foreign-signer"
HELMS = ("helm", "helm3")


@pytest.fixture(scope="module", autouse=True)
def new_helm_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Helm's cache as on an operator's machine that never pulled the chart.

    Helm 4 verifies a chart against the provenance file it cached with the same bytes, which
    an earlier release signed, perhaps with a key deleted since.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HELM_CACHE_HOME", str(tmp_path_factory.mktemp("helm-cache")))
        yield


@pytest.fixture(scope="module")
def published(cluster: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`make release` into this suite's repository: the release notes, and their folder."""
    out = tmp_path_factory.mktemp("release")
    notes_file = signed_release.publish(paths(), out, repository=REPOSITORY)
    notes: dict[str, Any] = json.loads(notes_file.read_text())
    return {**notes, "folder": out}


def keyring(notes: dict[str, Any]) -> str:
    return str(notes["folder"] / notes["publicKeyring"])


def package_of(notes: dict[str, Any]) -> Path:
    path: Path = notes["folder"] / f"todo-chatbot-{notes['version']}.tgz"
    return path


def test_the_release_notes_record_the_chart_and_image_digests(published, digests):
    assert published["version"] == deploy.chart_version(chart_folder(paths().repo))
    chart = published["chart"]
    assert chart["reference"] == f"oci://{REPOSITORY}/todo-chatbot"
    assert chart["digest"].startswith("sha256:")
    assert chart["packageSha256"] == hashlib.sha256(package_of(published).read_bytes()).hexdigest()
    assert {name: ref.split("@")[1] for name, ref in published["images"].items()} == digests
    # No secret keyring is published: the package, its provenance, the public keyring, notes.
    package = package_of(published).name
    assert sorted(p.name for p in published["folder"].iterdir()) == sorted(
        [package, f"{package}.prov", published["publicKeyring"],
         f"todo-chatbot-{published['version']}.release.json"]
    )  # fmt: skip


@pytest.fixture(scope="module")
def signed(published: dict[str, Any], new_release: ReleaseFactory) -> Iterator[Release]:
    """A release installed from the signed chart by Helm 4 with --verify."""
    release = new_release("signed", 30121)
    release.chart_ref = published["chart"]["reference"]
    result = release.helm(
        "install", args=("--verify", "--keyring", keyring(published), "--wait", "--timeout=120s")
    )
    assert result.returncode == 0, release.explain(result)
    yield release


def test_helm_install_verify_from_oci_installs_a_working_release(signed, user_agent: UserAgent):
    wait_until_served(signed, user_agent)
    page = user_agent.request("GET", signed.url + "/signin")
    assert page.status == 200, (page.status, page.error)
    assert "<form" in page.text


def helm3(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(paths().bin / "helm3"), f"--kubeconfig={paths().kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_helm3_verifies_the_signed_chart_from_oci(published, signed):
    with private_file(json.dumps(signed.full_values())) as values:
        result = helm3(
            "install", "verified", published["chart"]["reference"],
            "--version", published["version"], "--plain-http", "--namespace", signed.namespace,
            "--verify", "--keyring", keyring(published), "--values", str(values),
            "--dry-run=server",
        )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def refused_charts(
    published: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[str, str]]:
    """Each refused chart's reference and Helm's reason, pushed with its provenance file."""
    work = tmp_path_factory.mktemp("refused")
    tampered = tampered_chart.tampered(package_of(published), work / "tampered")
    signed_release.push(paths().bin / "helm", tampered, TAMPERED_REPOSITORY)
    # Changed and signed again by another key, as whoever changed it would. (The same bytes
    # signed by another key would be the released chart: Helm 4 verifies them against the
    # provenance it cached with them, and rightly installs them.)
    changed = work / "changed" / "todo-chatbot"
    with tarfile.open(tampered) as archive:
        archive.extractall(changed.parent, filter="data")
    with signed_release.signing_key(work / "gnupg", work / "foreign.pubring.gpg") as foreign_key:
        foreign = signed_release.package_signed(paths().bin / "helm", changed, work, foreign_key)
        signed_release.push(paths().bin / "helm", foreign, FOREIGN_REPOSITORY)
    return {
        "tampered": (f"oci://{TAMPERED_REPOSITORY}/todo-chatbot", "sha256 sum does not match"),
        "foreign signer": (f"oci://{FOREIGN_REPOSITORY}/todo-chatbot", "unknown entity"),
    }


@pytest.mark.parametrize("helm_binary", HELMS)
@pytest.mark.parametrize("case", ["tampered", "foreign signer"])
def test_install_verify_refuses_the_chart(published, signed, refused_charts, helm_binary, case):
    reference, reason = refused_charts[case]
    namespace = signed.namespace
    result = subprocess.run(
        [
            str(paths().bin / helm_binary), f"--kubeconfig={paths().kubeconfig}",
            "install", "refused", reference, "--version", published["version"],
            "--plain-http", "--namespace", namespace, "--verify",
            "--keyring", keyring(published), "--set", "secrets.existingSecret=x",
        ],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert reason in result.stderr, result.stderr
    listed = helm("list", "--namespace", namespace, "--short")
    assert listed.stdout.split() == [RELEASE], "a refused chart left a release"
