"""The cluster's certificates and keys, made with the openssl command line.

Follows hack/local-up-cluster.sh: one CA signs the serving and client certificates of the control
plane and the node, a second CA signs the front proxy's client certificate (the aggregation layer
that serves metrics.k8s.io), and a separate key pair signs service-account tokens. Files that
exist are kept, so a repeated `up` reuses them; `down` removes the folder.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import settings
from .shell import run

CA_DAYS = 3650
LEAF_DAYS = 365


@dataclass(frozen=True)
class Leaf:
    """One certificate to issue: subject, SANs and whether it serves, authenticates, or both."""

    name: str
    common_name: str
    organizations: Sequence[str] = ()
    dns_names: Sequence[str] = ()
    ip_addresses: Sequence[ipaddress.IPv4Address] = ()
    server: bool = False
    client: bool = False
    ca: str = "ca"
    extra: dict[str, str] = field(default_factory=dict)


def _new_key(path: Path) -> None:
    run(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            path,
        ]
    )
    path.chmod(0o600)


def ensure_ca(pki: Path, name: str, common_name: str) -> None:
    """Create a self-signed CA `<name>.crt` / `<name>.key` unless it exists."""
    crt, key = pki / f"{name}.crt", pki / f"{name}.key"
    if crt.exists() and key.exists():
        return
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    _new_key(key)
    run(
        [
            "openssl",
            "req",
            "-x509",
            "-new",
            "-key",
            key,
            "-subj",
            f"/CN={common_name}",
            "-days",
            str(CA_DAYS),
            "-out",
            crt,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        ]
    )


def ensure_leaf(pki: Path, leaf: Leaf) -> None:
    """Issue `<name>.crt` / `<name>.key` signed by the leaf's CA unless they exist."""
    crt, key = pki / f"{leaf.name}.crt", pki / f"{leaf.name}.key"
    if crt.exists() and key.exists():
        return
    _new_key(key)
    subject = "".join(f"/O={o}" for o in leaf.organizations) + f"/CN={leaf.common_name}"
    csr = pki / f"{leaf.name}.csr"
    run(["openssl", "req", "-new", "-key", key, "-subj", subject, "-out", csr])
    usages = [
        u for u, wanted in (("serverAuth", leaf.server), ("clientAuth", leaf.client)) if wanted
    ]
    extensions = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={','.join(usages)}",
    ]
    alt_names = [f"DNS:{d}" for d in leaf.dns_names] + [f"IP:{a}" for a in leaf.ip_addresses]
    if alt_names:
        extensions.append(f"subjectAltName={','.join(alt_names)}")
    ext_file = pki / f"{leaf.name}.ext"
    ext_file.write_text("\n".join(extensions) + "\n")
    run(
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            pki / f"{leaf.ca}.crt",
            "-CAkey",
            pki / f"{leaf.ca}.key",
            "-set_serial",
            str(secrets.randbits(63)),
            "-days",
            str(LEAF_DAYS),
            "-extfile",
            ext_file,
            "-out",
            crt,
        ]
    )
    csr.unlink()
    ext_file.unlink()


def ensure_service_account_key(pki: Path) -> None:
    """Create the key pair that signs and verifies service-account tokens."""
    key, pub = pki / "service-account.key", pki / "service-account.pub"
    if key.exists() and pub.exists():
        return
    _new_key(key)
    run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub])


def cluster_leaves(hostname: str) -> list[Leaf]:
    """Every certificate the components use, named as the files the other modules read."""
    node_ips = [settings.NODE_IP, ipaddress.IPv4Address("127.0.0.1")]
    return [
        Leaf(
            "apiserver",
            "kube-apiserver",
            dns_names=[
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                f"kubernetes.default.svc.{settings.CLUSTER_DOMAIN}",
                "localhost",
                hostname,
            ],
            ip_addresses=[settings.API_SERVICE_IP, *node_ips],
            server=True,
        ),
        # The apiserver's identity towards the kubelet; bound to system:kubelet-api-admin.
        Leaf("apiserver-kubelet-client", "kube-apiserver", client=True),
        Leaf("admin", "kubernetes-admin", ["system:masters"], client=True),
        Leaf("controller-manager", "system:kube-controller-manager", client=True),
        Leaf("scheduler", "system:kube-scheduler", client=True),
        Leaf("kube-proxy", "system:kube-proxy", ["system:node-proxier"], client=True),
        Leaf(
            "kubelet-client",
            f"system:node:{settings.NODE_NAME}",
            ["system:nodes"],
            client=True,
        ),
        # Signed by the cluster CA, which pods find in their service-account volume, so
        # metrics-server verifies the kubelet instead of skipping TLS verification.
        Leaf(
            "kubelet-serving",
            f"system:node:{settings.NODE_NAME}",
            dns_names=[settings.NODE_NAME, "localhost", hostname],
            ip_addresses=node_ips,
            server=True,
        ),
        Leaf("front-proxy-client", "front-proxy-client", client=True, ca="front-proxy-ca"),
    ]


def ensure_all(pki: Path, hostname: str) -> None:
    """Create the CAs, every leaf certificate and the service-account key pair."""
    ensure_ca(pki, "ca", "todo-chatbot-cluster-ca")
    ensure_ca(pki, "front-proxy-ca", "todo-chatbot-front-proxy-ca")
    for leaf in cluster_leaves(hostname):
        ensure_leaf(pki, leaf)
    ensure_service_account_key(pki)


def write_kubeconfig(path: Path, *, pki: Path, user: str, server: str) -> None:
    """Write a kubeconfig for `user` (a leaf name) with the certificates embedded (JSON is YAML)."""

    def data(name: str) -> str:
        return base64.b64encode((pki / name).read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "todo-chatbot",
                "cluster": {"server": server, "certificate-authority-data": data("ca.crt")},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": data(f"{user}.crt"),
                    "client-key-data": data(f"{user}.key"),
                },
            }
        ],
        "contexts": [
            {"name": "todo-chatbot", "context": {"cluster": "todo-chatbot", "user": user}}
        ],
        "current-context": "todo-chatbot",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
