"""The cluster's component images: user, entrypoint, what each carries, and that it runs.

`make images` builds a component only when the toolchain has built its binary, so a test
of a component that is not built yet is skipped (`make cluster-images` requires them all).
"""

from __future__ import annotations

import subprocess
import tarfile

import pytest
from image_helpers import BuiltImage, RunContainer
from toolchain import pins

pytestmark = pytest.mark.images

# name: (user, entrypoint, version flag, pinned version constant in tools/toolchain/pins.py)
EXPECTED = {
    "pause": ("65535:65535", ["/pause"], "-v", "PAUSE_VERSION"),
    "coredns": ("65532:65532", ["/coredns"], "-version", "COREDNS_VERSION"),
    "metrics-server": ("65534:65534", ["/metrics-server"], "--version", "METRICS_SERVER_VERSION"),
    "kube-router": ("", ["/usr/local/bin/kube-router"], "--version", "KUBE_ROUTER_VERSION"),
    "traefik": ("65532:65532", ["/traefik"], "version", "TRAEFIK_VERSION"),
    "prometheus-operator": (
        "65534:65534",
        ["/bin/operator"],
        "--version",
        "PROMETHEUS_OPERATOR_VERSION",
    ),
    # The operator runs the sidecar by this path, whatever the image's entrypoint.
    "prometheus-config-reloader": (
        "65534:65534",
        ["/bin/prometheus-config-reloader"],
        "--version",
        "PROMETHEUS_OPERATOR_VERSION",
    ),
    "prometheus": ("65534:65534", ["/bin/prometheus"], "--version", "PROMETHEUS_VERSION"),
}


@pytest.fixture(params=sorted(EXPECTED))
def component(
    request: pytest.FixtureRequest, component_images: dict[str, BuiltImage]
) -> BuiltImage:
    """Each component image in turn (skipped until its binary has been built)."""
    if request.param not in component_images:
        pytest.skip(f"{request.param}: no binary in $CACHE/bin yet (make cluster-tools)")
    return component_images[request.param]


def member_names(image: BuiltImage) -> dict[str, tarfile.TarInfo]:
    """Map every path in the image's layers to its tar entry."""
    return {member.name: member for layer in image.layers for member in image.layer_members(layer)}


def test_runs_its_binary_as_the_upstream_user(component: BuiltImage) -> None:
    user, entrypoint, _, _ = EXPECTED[component.name]
    assert component.runtime.get("Entrypoint") == entrypoint
    assert (component.runtime.get("User") or "") == user


def test_is_labelled_with_the_pinned_version(component: BuiltImage) -> None:
    pinned = getattr(pins, EXPECTED[component.name][3])
    labels = component.runtime.get("Labels") or {}
    assert isinstance(labels, dict)
    assert labels.get("org.opencontainers.image.version") == pinned
    expected_tag = "3.10" if component.name == "pause" else pinned
    assert component.ref == f"localhost:5001/todo-chatbot/{component.name}:{expected_tag}"


def test_binary_runs_in_the_image_on_a_read_only_root(
    component: BuiltImage, run_container: RunContainer
) -> None:
    _, _, version_flag, constant = EXPECTED[component.name]
    pinned = getattr(pins, constant).removeprefix("v")
    exited = run_container(component, {}, [version_flag]).run_to_end()
    assert exited.returncode == 0, exited.stderr
    assert pinned in exited.stdout + exited.stderr


# kube-router is left out: it runs on Debian for its iptables and ipset.
@pytest.mark.parametrize(
    ("name", "extra_files"),
    [
        ("pause", set()),
        ("coredns", {"etc/ssl/certs/ca-certificates.crt"}),
        ("metrics-server", {"etc/ssl/certs/ca-certificates.crt"}),
        ("traefik", {"etc/ssl/certs/ca-certificates.crt"}),
        ("prometheus-operator", {"etc/ssl/certs/ca-certificates.crt"}),
        ("prometheus-config-reloader", {"etc/ssl/certs/ca-certificates.crt"}),
        ("prometheus", {"etc/ssl/certs/ca-certificates.crt"}),
    ],
)
def test_static_images_hold_only_the_binary_and_ca_bundle(
    name: str, extra_files: set[str], component_images: dict[str, BuiltImage]
) -> None:
    if name not in component_images:
        pytest.skip(f"{name}: no binary in $CACHE/bin yet (make cluster-tools)")
    image = component_images[name]
    files = {path for path, entry in member_names(image).items() if entry.isfile()}
    binary = EXPECTED[name][1][0].lstrip("/")
    assert files == {binary, *extra_files}


def test_coredns_may_bind_port_53_as_non_root(
    component_images: dict[str, BuiltImage],
) -> None:
    if "coredns" not in component_images:
        pytest.skip("coredns: no binary in $CACHE/bin yet")
    entry = member_names(component_images["coredns"])["coredns"]
    capability = entry.pax_headers.get("SCHILY.xattr.security.capability", "")
    # vfs_cap_data: magic/flags (effective bit set), then the permitted mask: bit 10.
    raw = capability.encode("latin-1")
    assert raw[:4] == b"\x01\x00\x00\x02", "no effective file capability on /coredns"
    assert int.from_bytes(raw[4:8], "little") == 1 << 10  # CAP_NET_BIND_SERVICE


def test_kube_router_carries_iptables_and_ipset_on_the_hosts_backend(
    component_images: dict[str, BuiltImage],
) -> None:
    if "kube-router" not in component_images:
        pytest.skip("kube-router: no binary in $CACHE/bin yet")
    host = subprocess.run(["iptables", "--version"], capture_output=True, text=True, check=True)
    backend = "legacy" if "legacy" in host.stdout else "nft"
    entries = member_names(component_images["kube-router"])
    assert "usr/sbin/ipset" in entries
    for command in ("iptables", "ip6tables"):
        link = entries[f"etc/alternatives/{command}"]
        assert link.linkname == f"/usr/sbin/{command}-{backend}"
