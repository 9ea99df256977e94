"""Certificates: the SANs and identities the components depend on, checked with openssl."""

import json
import subprocess
from pathlib import Path

import pytest
from localcluster import pki, settings

pytestmark = pytest.mark.cluster


def openssl_text(path: Path) -> str:
    return subprocess.run(
        ["openssl", "x509", "-in", str(path), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    pki.ensure_all(folder, "testhost")
    return folder


def test_apiserver_certificate_covers_the_service_ip_node_ip_and_names(pki_dir: Path) -> None:
    text = openssl_text(pki_dir / "apiserver.crt")
    for san in (
        f"IP Address:{settings.API_SERVICE_IP}",
        f"IP Address:{settings.NODE_IP}",
        "DNS:kubernetes.default.svc.cluster.local",
        "DNS:testhost",
    ):
        assert san in text
    assert "TLS Web Server Authentication" in text


def test_every_leaf_verifies_against_its_ca(pki_dir: Path) -> None:
    for leaf in pki.cluster_leaves("testhost"):
        result = subprocess.run(
            [
                "openssl",
                "verify",
                "-CAfile",
                str(pki_dir / f"{leaf.ca}.crt"),
                str(pki_dir / f"{leaf.name}.crt"),
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_client_identities_carry_the_groups_rbac_expects(pki_dir: Path) -> None:
    assert "O = system:masters, CN = kubernetes-admin" in openssl_text(pki_dir / "admin.crt")
    kubelet = openssl_text(pki_dir / "kubelet-client.crt")
    assert f"O = system:nodes, CN = system:node:{settings.NODE_NAME}" in kubelet


def test_keys_are_private_and_kept_on_a_second_run(pki_dir: Path) -> None:
    before = (pki_dir / "ca.crt").read_bytes()
    pki.ensure_all(pki_dir, "testhost")
    assert (pki_dir / "ca.crt").read_bytes() == before
    assert (pki_dir / "ca.key").stat().st_mode & 0o077 == 0


def test_kubeconfig_embeds_the_ca_and_the_users_certificate(pki_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "kubeconfig"
    pki.write_kubeconfig(target, pki=pki_dir, user="admin", server="https://10.244.0.1:6443")
    config = json.loads(target.read_text())
    assert config["clusters"][0]["cluster"]["server"] == "https://10.244.0.1:6443"
    assert config["users"][0]["user"]["client-key-data"]
    assert target.stat().st_mode & 0o077 == 0
