"""`make release` signing (localcluster/signed_release.py), offline: Helm 4 and Helm 3 verify it."""

import subprocess
from pathlib import Path

import pytest
from localcluster import signed_release
from localcluster.release import chart_folder
from localcluster.settings import paths_from_env
from support import tampered_chart

HELMS = ("helm", "helm3")


def helm(name: str) -> Path:
    path = paths_from_env().bin / name
    if not path.is_file():
        pytest.fail(f"{path} is not built: run `make tools`")
    return path


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The chart packaged and signed by the pinned Helm 4: (package, public keyring, signer)."""
    out = tmp_path_factory.mktemp("signed")
    home = out / "gnupg"
    with signed_release.signing_key(home, out / "release.pubring.gpg") as key:
        package = signed_release.package_signed(
            helm("helm"), chart_folder(paths_from_env().repo), out, key
        )
    assert not key.secret_keyring.exists(), "the exported secret keyring outlived the signing"
    assert home.stat().st_mode & 0o777 == 0o700
    return package, key.public_keyring, key.fingerprint


def test_the_key_is_kept_for_the_next_release(signed, tmp_path):
    _, keyring, fingerprint = signed
    home = keyring.parent / "gnupg"
    with signed_release.signing_key(home, tmp_path / "again.pubring.gpg") as again:
        assert again.fingerprint == fingerprint
    assert again.public_keyring.read_bytes() == keyring.read_bytes()


def verify(helm_name: str, package: Path, keyring: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helm(helm_name), "verify", package, "--keyring", keyring],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("helm_name", HELMS)
def test_helm_verifies_the_signed_package(signed, helm_name):
    package, keyring, fingerprint = signed
    result = verify(helm_name, package, keyring)
    assert result.returncode == 0, result.stderr
    assert f"Using Key With Fingerprint: {fingerprint}" in result.stdout
    assert f"Signed by: {signed_release.SIGNER}" in result.stdout


@pytest.mark.parametrize("helm_name", HELMS)
def test_helm_refuses_a_package_changed_after_signing(signed, helm_name, tmp_path):
    package, keyring, _ = signed
    result = verify(helm_name, tampered_chart.tampered(package, tmp_path / "t"), keyring)
    assert result.returncode != 0
    assert "sha256 sum does not match" in result.stderr


@pytest.mark.parametrize("helm_name", HELMS)
def test_helm_refuses_a_signer_missing_from_the_keyring(signed, helm_name, tmp_path):
    package, _, _ = signed
    with signed_release.signing_key(tmp_path / "gnupg", tmp_path / "other.pubring.gpg") as other:
        result = verify(helm_name, package, other.public_keyring)
    assert result.returncode != 0
    assert "unknown entity" in result.stderr
