"""Regenerate the cdk8s bindings in imports/ offline, byte-for-byte.

`cdk8s import k8s@1.28.0` downloads its schema from GitHub, which is not
reachable here; tools/offline-schemas.cjs answers that request from
../shared/k8s-schemas instead. The Gateway API bindings (HTTPRoute) come from
the CRD file in ../shared/crds, the Prometheus Operator's (ServiceMonitor, PodMonitor,
PrometheusRule) from its CRD files there, joined into one multi-document file since
`cdk8s import` reads one source per run and writes one module per API group, and the External
Secrets Operator's ExternalSecret from its CRD file there. Run from the
repository root: `make imports`;
`--out DIR` writes elsewhere (the test compares such a copy with imports/).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
KUBERNETES_VERSION = "1.28.0"
HTTPROUTE_CRD = SHARED / "crds/gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml"
MONITORING_CRDS = tuple(
    SHARED / f"crds/prometheus-operator-v0.93.0/monitoring.coreos.com_{plural}.yaml"
    for plural in ("podmonitors", "prometheusrules", "servicemonitors")
)
EXTERNAL_SECRET_CRD = (
    SHARED / "crds/external-secrets-v2.9.0/external-secrets.io_externalsecrets.yaml"
)
OUTPUT = ROOT / "imports"


def cdk8s_import(source: str, output: Path) -> None:
    """Run `cdk8s import <source>` into `output` with the network shim preloaded."""
    env = {
        **os.environ,
        "K8S_SCHEMAS_DIR": str(SHARED / "k8s-schemas"),
        "NODE_OPTIONS": f"--require {ROOT / 'tools/offline-schemas.cjs'}",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    command = [
        "npx",
        "--no-install",
        "cdk8s",
        "import",
        source,
        "--no-check-upgrade",
        # cdk8s.yaml lists no imports on purpose (they come from here, not `cdk8s import`).
        "--no-save",
        "--language",
        "python",
        "--output",
        str(output),
    ]
    print(f"cdk8s import {source}", flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=OUTPUT, help="folder to (re)write; default: imports/"
    )
    output = parser.parse_args(argv).out.resolve()
    for needed in (
        SHARED / "k8s-schemas" / f"v{KUBERNETES_VERSION}",
        HTTPROUTE_CRD,
        *MONITORING_CRDS,
        EXTERNAL_SECRET_CRD,
    ):
        if not needed.exists():
            print(f"error: {needed} is missing; the imports need ../shared", file=sys.stderr)
            return 1
    shutil.rmtree(output, ignore_errors=True)
    cdk8s_import(f"k8s@{KUBERNETES_VERSION}", output)
    cdk8s_import(str(HTTPROUTE_CRD), output)
    with tempfile.TemporaryDirectory() as folder:
        joined = Path(folder) / "monitoring.coreos.com.yaml"
        # Each file starts a document with `---`, so plain concatenation keeps them apart.
        joined.write_text("".join(crd.read_text() for crd in MONITORING_CRDS))
        cdk8s_import(str(joined), output)
    cdk8s_import(str(EXTERNAL_SECRET_CRD), output)
    print(f"bindings written to {output}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
