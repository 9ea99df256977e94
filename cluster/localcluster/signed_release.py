"""`make release`: the chart signed, pushed to the local registry, and its release notes.

`helm package --sign` writes the chart's provenance file (its SHA-256, signed with OpenPGP);
`helm push` uploads it beside the chart as a layer of the same OCI artifact, and
`helm install --verify` (or `helm pull --verify`) checks it against a public keyring before
anything is installed. The key is made for local releases in a GNUPGHOME of its own,
$CACHE/release-key (mode 0700, never in the repository), on the first release, and kept: a
chart released again with the same bytes must verify against the provenance Helm 4 cached
for them. Helm reads OpenPGP packets, not GnuPG 2's keybox, so the keys are exported in the
legacy keyring format (`gpg --export[-secret-keys]`), which Helm 3 and Helm 4 both read; the
exported secret keyring lives in a temporary folder only while Helm signs.

Everything lands in dist/release/: the signed package (`.tgz` and `.tgz.prov`), the public
keyring (`.pubring.gpg`) and the release notes (`.release.json`), the one record of the
chart's and the images' digests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import images, registry, settings, supervisor
from .deploy import chart_version
from .errors import ClusterError
from .release import chart_folder
from .settings import Paths
from .shell import run

# Apart from the charts `make up` pushes (deploy.CHART_REPOSITORY), which are not signed and
# would replace a signed chart of the same version.
RELEASE_REPOSITORY = f"{settings.REGISTRY}/todo-chatbot/releases"
SIGNER_NAME = "todo-chatbot local release"
SIGNER = f"{SIGNER_NAME} <release@todo-chatbot.invalid>"
# A signing-only RSA key without a passphrase: `make release` runs unattended, and the key
# signs local releases only.
KEY_PARAMETERS = f"""%no-protection
Key-Type: RSA
Key-Length: 3072
Key-Usage: sign
Name-Real: {SIGNER_NAME}
Name-Email: release@todo-chatbot.invalid
Expire-Date: 0
%commit
"""


@dataclass(frozen=True)
class SigningKey:
    """A signing key as Helm reads it: its secret and public keyrings and its fingerprint."""

    secret_keyring: Path
    public_keyring: Path
    fingerprint: str


@contextlib.contextmanager
def signing_key(home: Path, public_keyring: Path) -> Iterator[SigningKey]:
    """The key of GNUPGHOME `home` (made there first if it has none), exported for Helm.

    The public keyring is written to `public_keyring`; the secret one exists only inside
    the block.
    """
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {**os.environ, "GNUPGHOME": str(home)}
    exported = Path(tempfile.mkdtemp(prefix="todo-release-key-"))
    try:
        if not _fingerprint(env):
            run(["gpg", "--batch", "--quiet", "--gen-key"], input_text=KEY_PARAMETERS, env=env)
        secret_keyring = exported / "secring.gpg"
        _export(["--export-secret-keys"], secret_keyring, env)
        _export(["--export"], public_keyring, env)
        yield SigningKey(secret_keyring, public_keyring, _fingerprint(env))
    finally:
        shutil.rmtree(exported, ignore_errors=True)
        # gpg started an agent for this home; it would keep running after the release.
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)


def _fingerprint(env: dict[str, str]) -> str:
    """The fingerprint of the home's secret key, or "" when it has none."""
    listing = run(["gpg", "--batch", "--with-colons", "--list-secret-keys"], env=env, check=False)
    for line in listing.stdout.splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9]
    return ""


def _export(options: list[str], path: Path, env: dict[str, str]) -> None:
    """Write gpg's binary (not armored) export to `path`."""
    exported = subprocess.run(["gpg", "--batch", *options], env=env, capture_output=True)
    if exported.returncode != 0 or not exported.stdout:
        raise ClusterError(f"gpg {' '.join(options)} failed: {exported.stderr.decode()[-300:]}")
    path.write_bytes(exported.stdout)


def package_signed(helm: Path, chart: Path, destination: Path, key: SigningKey) -> Path:
    """`helm package --sign`: the chart's `.tgz` with its `.tgz.prov`; returns the `.tgz`."""
    run(
        [
            helm, "package", chart, "--destination", destination,
            "--sign", "--key", SIGNER_NAME, "--keyring", key.secret_keyring,
        ],
    )  # fmt: skip
    package = destination / f"{chart.name}-{chart_version(chart)}.tgz"
    if not Path(f"{package}.prov").is_file():
        raise ClusterError(f"helm package --sign wrote no {package}.prov")
    return package


def push(helm: Path, package: Path, repository: str) -> str:
    """`helm push` the package (and the `.prov` beside it); return the artifact's digest."""
    pushed = run([helm, "push", package, f"oci://{repository}", "--plain-http"])
    found = re.search(r"^Digest: (sha256:[0-9a-f]{64})$", pushed.stdout + pushed.stderr, re.M)
    if found is None:
        raise ClusterError(f"helm push printed no digest for {package.name}")
    return found.group(1)


def release_notes(
    paths: Paths, *, package: Path, reference: str, digest: str, key: SigningKey
) -> dict[str, Any]:
    """What was released: the commit, the chart's reference and digests, the signer, the images."""
    commit = run(["git", "-C", paths.repo, "rev-parse", "HEAD"]).stdout.strip()
    return {
        "version": chart_version(chart_folder(paths.repo)),
        "commit": commit,
        "chart": {
            "reference": reference,
            # The OCI manifest (chart and provenance layers): what `helm pull ...@digest` takes.
            "digest": digest,
            # The package's own hash, which the provenance file signs.
            "packageSha256": hashlib.sha256(package.read_bytes()).hexdigest(),
        },
        "signedBy": {"uid": SIGNER, "fingerprint": key.fingerprint},
        "publicKeyring": key.public_keyring.name,
        "images": {
            name: f"{images.ref(paths, name)}@{digest}"
            for name, digest in images.app_digests(paths).items()
        },
    }


def publish(paths: Paths, out: Path, *, repository: str = RELEASE_REPOSITORY) -> Path:
    """Sign the built chart, push it to `repository`, write the notes; return the notes file."""
    chart = chart_folder(paths.repo)
    if not (chart / "Chart.yaml").is_file():
        raise ClusterError(f"the chart {chart} is not built: run `make chart`")
    if not supervisor.http_ok(f"{registry.URL}/v2/"):
        raise ClusterError(f"the local registry {settings.REGISTRY} is not running: run `make up`")
    out.mkdir(parents=True, exist_ok=True)
    name = f"{chart.name}-{chart_version(chart)}"
    with signing_key(paths.cache / "release-key", out / f"{name}.pubring.gpg") as key:
        package = package_signed(paths.bin / "helm", chart, out, key)
        digest = push(paths.bin / "helm", package, repository)
        reference = f"oci://{repository}/{chart.name}"
        notes = release_notes(paths, package=package, reference=reference, digest=digest, key=key)
    path = out / f"{name}.release.json"
    path.write_text(json.dumps(notes, indent=2) + "\n")
    return path
