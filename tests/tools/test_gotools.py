"""Tests of tools/gotools.py and its toolchain: pins, wrappers, the versioned cache, binaries.

Nothing here compiles Go: the cache logic runs on stand-in tools that write a shell script,
and the binaries in $CACHE/bin are only run when `make tools` / `make cluster-tools` built them.
"""

import os
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import gotools
import pytest
from toolchain import catalog, golang, installer, monitoring, pins, progress, wrapper
from toolchain.cache import cache_dir

REPO = Path(__file__).resolve().parents[2]


PINS = {
    "HELM_VERSION": pins.HELM_VERSION,
    "HELM3_VERSION": pins.HELM3_VERSION,
    "KUBE_SCORE_VERSION": pins.KUBE_SCORE_VERSION,
    "KUBECONFORM_VERSION": pins.KUBECONFORM_VERSION,
    "KUBERNETES_VERSION": pins.KUBERNETES_VERSION,
    "ETCD_VERSION": pins.ETCD_VERSION,
    "COREDNS_VERSION": pins.COREDNS_VERSION,
    "METRICS_SERVER_VERSION": pins.METRICS_SERVER_VERSION,
    "KUBE_ROUTER_VERSION": pins.KUBE_ROUTER_VERSION,
    "TRAEFIK_VERSION": pins.TRAEFIK_VERSION,
    "PAUSE_VERSION": pins.PAUSE_VERSION,
    "PROMETHEUS_OPERATOR_VERSION": pins.PROMETHEUS_OPERATOR_VERSION,
    "PROMETHEUS_VERSION": pins.PROMETHEUS_VERSION,
    "NODE_VERSION": pins.NODE_VERSION,
}


@pytest.mark.parametrize("name", sorted(PINS))
def test_pins_are_exact_release_versions(name: str) -> None:
    assert re.fullmatch(r"v\d+\.\d+\.\d+", PINS[name]), f"{name}={PINS[name]!r}"


def test_helm_pins_are_helm_4_and_helm_3() -> None:
    assert pins.HELM_VERSION.startswith("v4.")
    assert pins.HELM3_VERSION.startswith("v3.")


def test_kubernetes_stays_on_a_release_that_accepts_cgroup_v1() -> None:
    # Kubernetes 1.35 and later refuse to start a kubelet on cgroup v1, which this machine has.
    minor = int(pins.KUBERNETES_VERSION.split(".")[1])
    assert pins.KUBERNETES_VERSION.startswith("v1.") and minor < 35


def test_etcd_is_on_the_3_5_line() -> None:
    assert pins.ETCD_VERSION.startswith("v3.5.")


def test_every_tool_folder_is_keyed_by_its_version() -> None:
    for tool in catalog.GROUPS["all"]:
        assert tool.folder.name == f"{tool.name}-{tool.version}"


def test_each_command_is_installed_by_exactly_one_tool() -> None:
    links = [name for tool in catalog.GROUPS["all"] for name in tool.links]
    assert sorted(links) == sorted(set(links))
    assert {
        "helm",
        "helm3",
        "kube-score",
        "kubeconform",
        "kubectl",
        "kubelet",
        "etcd",
        "coredns",
        "traefik",
        "pause",
        "prometheus-operator",
        "prometheus-config-reloader",
        "prometheus",
    } <= set(links)


@pytest.mark.parametrize(
    ("package", "binary"),
    [
        ("go.etcd.io/etcd/server/v3", "server"),
        ("github.com/cloudnativelabs/kube-router/v2/cmd/kube-router", "kube-router"),
        ("k8s.io/kubernetes/cmd/kubelet", "kubelet"),
        ("github.com/coredns/coredns", "coredns"),
    ],
)
def test_command_name_follows_go_naming(package: str, binary: str) -> None:
    assert golang.command_name(package) == binary


# ---- kubernetes wrapper module --------------------------------------------------------------

UPSTREAM_GO_MOD = """module k8s.io/kubernetes

go 1.24.0

require (
\tgithub.com/blang/semver/v4 v4.0.0
\tk8s.io/api v0.0.0
\tk8s.io/client-go v0.0.0
\tk8s.io/utils v0.0.0-20241104100929-3ea5e8cea738
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
)
"""


def test_staging_modules_are_replaced_by_their_release() -> None:
    staging = "v0." + pins.KUBERNETES_VERSION.split(".", 1)[1]
    replaces = catalog.kubernetes_staging_replaces(UPSTREAM_GO_MOD)
    # k8s.io/utils is a real pseudo-version, not a staging module: it must stay as it is.
    assert replaces == {
        "k8s.io/api": f"k8s.io/api {staging}",
        "k8s.io/client-go": f"k8s.io/client-go {staging}",
    }


def test_fails_when_kubernetes_requires_no_staging_module() -> None:
    with pytest.raises(ValueError, match="requires no staging module"):
        catalog.kubernetes_staging_replaces("module k8s.io/kubernetes\n\ngo 1.24.0\n")


@pytest.mark.parametrize(
    "wrapper",
    [
        catalog.KUBERNETES_MODULE,
        catalog.ETCD_MODULE,
        catalog.TRAEFIK_MODULE,
        monitoring.PROMETHEUS_OPERATOR_MODULE,
        monitoring.PROMETHEUS_MODULE,
    ],
)
def test_committed_wrapper_matches_the_pin(wrapper: Any) -> None:
    go_mod = wrapper.folder / "go.mod"
    text = go_mod.read_text()
    assert text.splitlines()[0] == wrapper.header()
    assert (wrapper.folder / "go.sum").stat().st_size > 0
    for package in wrapper.tools:
        assert f"\t{package}\n" in text or f"tool {package}\n" in text


def test_committed_kubernetes_wrapper_pins_every_staging_module_to_the_release() -> None:
    text = (catalog.KUBERNETES_MODULE.folder / "go.mod").read_text()
    staging = "v0." + pins.KUBERNETES_VERSION.split(".", 1)[1]
    replaced = re.findall(r"^\t(k8s\.io/\S+) => \1 (\S+)$", text, flags=re.MULTILINE)
    names = {name for name, _ in replaced}
    assert {"k8s.io/api", "k8s.io/client-go", "k8s.io/kubelet", "k8s.io/cri-api"} <= names
    assert {version for _, version in replaced} == {staging}
    assert f"\tk8s.io/kubernetes {pins.KUBERNETES_VERSION}" in text


def test_kubernetes_ldflags_stamp_the_release_into_both_version_packages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catalog, "release_date", lambda module, version: "2026-01-02T03:04:05Z")
    flags = catalog.kubernetes_ldflags()
    major, minor = pins.KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        assert f"-X {package}.gitVersion={pins.KUBERNETES_VERSION}" in flags
        assert f"-X {package}.gitMajor={major}" in flags
        assert f"-X {package}.gitMinor={minor}" in flags
        assert f"-X {package}.buildDate=2026-01-02T03:04:05Z" in flags
        # Left unset it reads "$Format:%H$", which looks like a broken build.
        assert f"-X {package}.gitCommit=" in flags


# ---- traefik wrapper module ------------------------------------------------------------------

TRAEFIK_GO_MOD = """module github.com/traefik/traefik/v3

go 1.25.0

require (
\tgithub.com/abbot/go-http-auth v0.0.0-00010101000000-000000000000 // No tag on the repo.
\tgithub.com/gorilla/mux v1.8.1 // indirect
)

replace github.com/mailgun/minheap => github.com/containous/minheap v0.0.0-2019

// Containous forks
replace (
\tgithub.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.2020 // fork
\tgithub.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59
)

exclude github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible
"""


def test_go_mod_directives_reads_one_line_and_block_forms_without_comments() -> None:
    assert wrapper.go_mod_directives(TRAEFIK_GO_MOD, "replace") == [
        "github.com/mailgun/minheap => github.com/containous/minheap v0.0.0-2019",
        "github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.2020",
        "github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59",
    ]
    assert wrapper.go_mod_directives(TRAEFIK_GO_MOD, "exclude") == [
        "github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible"
    ]


def test_upstream_replaces_keep_every_fork() -> None:
    replaces = wrapper.upstream_replaces(TRAEFIK_GO_MOD)
    assert replaces["github.com/abbot/go-http-auth"] == (
        "github.com/containous/go-http-auth v0.4.1-0.2020"
    )
    assert set(replaces) == {
        "github.com/mailgun/minheap",
        "github.com/abbot/go-http-auth",
        "github.com/gorilla/mux",
    }


def test_fails_when_upstream_replaces_a_module_by_a_local_folder() -> None:
    go_mod = TRAEFIK_GO_MOD + "replace example.com/ext => ./pkg/ext\n"
    with pytest.raises(ValueError, match=r"example\.com/ext by the local folder \./pkg/ext"):
        wrapper.upstream_replaces(go_mod)


def test_committed_traefik_wrapper_repeats_the_forks_and_the_exclude() -> None:
    text = (catalog.TRAEFIK_MODULE.folder / "go.mod").read_text()
    assert f"\tgithub.com/traefik/traefik/v3 {pins.TRAEFIK_VERSION} " in text
    assert re.search(
        r"github\.com/abbot/go-http-auth => github\.com/containous/go-http-auth ", text
    )
    assert re.search(r"github\.com/gorilla/mux => github\.com/containous/mux ", text)
    assert "exclude github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible" in text


# ---- monitoring wrapper modules ---------------------------------------------------------------

OPERATOR_GO_MOD = """module github.com/prometheus-operator/prometheus-operator

go 1.26.0

replace (
\tgithub.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring => ./pkg/apis/monitoring
\tgithub.com/prometheus-operator/prometheus-operator/pkg/client => ./pkg/client
)
"""


def test_operator_submodules_are_replaced_by_their_release() -> None:
    module = "github.com/prometheus-operator/prometheus-operator"
    version = pins.PROMETHEUS_OPERATOR_VERSION
    assert monitoring.operator_submodule_replaces(OPERATOR_GO_MOD) == {
        f"{module}/pkg/apis/monitoring": f"{module}/pkg/apis/monitoring {version}",
        f"{module}/pkg/client": f"{module}/pkg/client {version}",
    }


def test_fails_when_the_operator_replaces_a_module_not_its_own() -> None:
    go_mod = "module x\n\nreplace github.com/other/module => ./other\n"
    with pytest.raises(ValueError, match=r"replaces github\.com/other/module, which is not one"):
        monitoring.operator_submodule_replaces(go_mod)


def test_committed_operator_wrapper_takes_both_submodules_at_the_release() -> None:
    text = (monitoring.PROMETHEUS_OPERATOR_MODULE.folder / "go.mod").read_text()
    version = pins.PROMETHEUS_OPERATOR_VERSION
    for submodule in ("pkg/apis/monitoring", "pkg/client"):
        name = f"github.com/prometheus-operator/prometheus-operator/{submodule}"
        assert f"\t{name} => {name} {version}\n" in text


def test_prometheus_is_the_operators_default_and_its_module_version() -> None:
    # The operator's go.mod requires the Prometheus module it generates configuration for.
    assert monitoring.prometheus_module_version("v3.13.1") == "v0.313.1"
    assert monitoring.prometheus_module_version("v3.5.0") == "v0.305.0"
    operator = (monitoring.PROMETHEUS_OPERATOR_MODULE.folder / "go.mod").read_text()
    assert f"github.com/prometheus/prometheus {monitoring.prometheus_module_version()}" in operator


def test_prometheus_keeps_only_the_kubernetes_service_discovery() -> None:
    tags = monitoring.PROMETHEUS_MODULE.tags
    assert "remove_all_sd" in tags
    assert [tag for tag in tags if tag.startswith("enable_")] == ["enable_kubernetes_sd"]


def test_prometheus_ldflags_are_those_of_its_release_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catalog, "release_date", lambda module, version: "2026-07-10T08:03:47Z")
    assert monitoring.prometheus_ldflags() == [
        f"-X github.com/prometheus/common/version.Version={pins.PROMETHEUS_VERSION[1:]}",
        "-X github.com/prometheus/common/version.BuildDate=20260710-08:03:47",
    ]


def test_traefik_is_a_v3_release() -> None:
    assert pins.TRAEFIK_VERSION.startswith("v3.")


def test_traefik_ldflags_are_those_of_its_release_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "release_date", lambda module, version: "2026-01-02T03:04:05Z")
    monkeypatch.setattr(catalog, "traefik_codename", lambda: "ramequin")
    package = "github.com/traefik/traefik/v3/pkg/version"
    # goreleaser's {{.Version}} has no leading v: `traefik version` prints 3.x.y.
    assert catalog.traefik_ldflags() == [
        f"-X {package}.Version={pins.TRAEFIK_VERSION.removeprefix('v')}",
        f"-X {package}.Codename=ramequin",
        f"-X {package}.BuildDate=2026-01-02T03:04:05Z",
    ]


@pytest.fixture
def traefik_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stand in for the downloaded Traefik module; return its release workflow file."""
    monkeypatch.setattr(catalog, "module_info", lambda module, version: {"Dir": str(tmp_path)})
    workflow = tmp_path / ".github" / "workflows" / "release.yaml"
    workflow.parent.mkdir(parents=True)
    return workflow


def test_traefik_codename_comes_from_the_release_workflow(traefik_source: Path) -> None:
    traefik_source.write_text("env:\n  CGO_ENABLED: 0\n  CODENAME: ramequin\n\njobs: {}\n")
    assert catalog.traefik_codename() == "ramequin"


def test_fails_when_the_release_workflow_names_no_codename(traefik_source: Path) -> None:
    traefik_source.write_text("env:\n  CGO_ENABLED: 0\n")
    with pytest.raises(ValueError, match="no CODENAME"):
        catalog.traefik_codename()


def test_traefik_crds_come_from_the_gateway_api_module_of_its_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "module"
    standard = module / "config" / "crd" / "standard"
    standard.mkdir(parents=True)
    for kind in ("grpcroutes", "backendtlspolicies", "httproutes"):
        (standard / f"gateway.networking.k8s.io_{kind}.yaml").write_text(f"kind: {kind}\n")
    asked: list[tuple[str, str]] = []

    def module_info(path: str, version: str) -> dict[str, str]:
        asked.append((path, version))
        return {"Dir": str(module)}

    monkeypatch.setattr(catalog, "module_info", module_info)
    out = tmp_path / "out"
    out.mkdir()
    catalog.copy_traefik_crds(out)
    wrapper = catalog.TRAEFIK_MODULE.folder / "go.mod"
    assert asked == [
        ("sigs.k8s.io/gateway-api", golang.required_version(wrapper, "sigs.k8s.io/gateway-api"))
    ]
    copied = sorted(path.name for path in (out / "gateway-api-crds").iterdir())
    assert copied == [
        "gateway.networking.k8s.io_backendtlspolicies.yaml",
        "gateway.networking.k8s.io_grpcroutes.yaml",
    ]


# ---- the versioned cache, on stand-in tools ---------------------------------------------------


def fake_tool(
    version: str, *, prints: str, calls: list[str] | None = None, name: str = "fake"
) -> Any:
    """Return a Tool whose build writes a script printing `prints` (and records the call).

    `calls` receives the version and the STEP that the build's commands report under.
    """

    def build(out_dir: Path) -> None:
        if calls is not None:
            calls.append(version)
            calls.append(progress.STEP.get())
        script = out_dir / "fake"
        script.write_text(f"#!/bin/sh\necho 'fake {prints}'\n")
        script.chmod(0o755)

    return installer.Tool(
        name=name,
        version=version,
        links={name: "fake"},
        build=build,
        recipe=lambda: ["stand-in"],
    )


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CACHE", str(tmp_path))
    return tmp_path


def test_install_builds_checks_and_links_the_version(cache: Path) -> None:
    installer.install(fake_tool("v1.2.3", prints="v1.2.3"), force=False)
    link = cache / "bin" / "fake"
    assert os.readlink(link) == "../tools/fake-v1.2.3/fake"
    assert subprocess.run([link], capture_output=True, text=True).stdout == "fake v1.2.3\n"


def test_unchanged_pin_is_not_rebuilt(cache: Path) -> None:
    calls: list[str] = []
    installer.install(fake_tool("v1.2.3", prints="v1.2.3", calls=calls), force=False)
    installer.install(fake_tool("v1.2.3", prints="v1.2.3", calls=calls), force=False)
    assert calls == ["v1.2.3", "fake"]


def test_version_bump_rebuilds_and_relinks(cache: Path) -> None:
    installer.install(fake_tool("v1.2.3", prints="v1.2.3"), force=False)
    installer.install(fake_tool("v1.2.4", prints="v1.2.4"), force=False)
    assert os.readlink(cache / "bin" / "fake") == "../tools/fake-v1.2.4/fake"


def test_changed_recipe_rebuilds(cache: Path) -> None:
    calls: list[str] = []
    tool = fake_tool("v1.2.3", prints="v1.2.3", calls=calls)
    installer.install(tool, force=False)
    (tool.folder / ".recipe").write_text("a recipe of another build\n")
    installer.install(tool, force=False)
    assert calls == ["v1.2.3", "fake", "v1.2.3", "fake"]


def test_fails_when_the_binary_prints_another_version(cache: Path) -> None:
    installer.install(fake_tool("v1.2.3", prints="v1.2.3"), force=False)
    with pytest.raises(SystemExit, match=r"expected version v1\.2\.4"):
        installer.install(fake_tool("v1.2.4", prints="v0.0.0"), force=False)
    # The failed build leaves neither a folder nor a link behind; the working version stays.
    assert not (cache / "tools" / "fake-v1.2.4").exists()
    assert os.readlink(cache / "bin" / "fake") == "../tools/fake-v1.2.3/fake"
    folders = [path.name for path in (cache / "tools").iterdir() if path.is_dir()]
    assert folders == ["fake-v1.2.3"]


# ---- progress, step numbers and the preflight ----------------------------------------------


def test_package_count_counts_compiled_packages_only() -> None:
    count = golang.PackageCount(3)
    for line in [
        "go: downloading k8s.io/api v0.33.13\n",
        "internal/abi\n",
        "# k8s.io/kubernetes/pkg/kubelet\n",
        "pkg/kubelet/kubelet.go:12:2: warning\n",
        "k8s.io/kubernetes/cmd/kubelet\n",
    ]:
        count.feed(line)
    assert count.describe() == "2/3 packages"
    count.feed("example.com/last\n")
    assert count.describe() == "all 3 packages compiled, linking"


def test_package_count_without_a_total_shows_the_count() -> None:
    count = golang.PackageCount(None)
    count.feed("fmt\n")
    assert count.describe() == "packages compiled: 1"


def test_heartbeat_says_what_where_how_far_and_how_long() -> None:
    line = progress.heartbeat_line(
        "gotools", "go build kubelet", "tool 1/7 kubernetes", "812/2649 packages", 245.4
    )
    assert line == (
        "[gotools]   ... go build kubelet (tool 1/7 kubernetes): 812/2649 packages, 4 min 05 s"
    )
    assert (
        progress.heartbeat_line("images", "export x", "", "", 15) == "[images]   ... export x: 15 s"
    )


def test_watch_feeds_the_output_to_the_progress_and_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    count = golang.PackageCount(2)
    log = tmp_path / "logs" / "build.log"
    script = "import sys; print('fmt'); print('go: downloading x v1', file=sys.stderr); sys.exit(3)"
    result = progress.watch(
        [sys.executable, "-c", script], what="probe", log_file=log, progress=count
    )
    assert result.returncode == 3
    assert count.done == 1
    assert log.read_text() == result.stdout
    assert "go: downloading x v1" in result.stdout
    # A command shorter than a heartbeat prints nothing.
    assert capsys.readouterr().out == ""


def test_run_stops_with_the_end_of_the_output_and_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "probe.log"
    script = "for n in range(100): print(f'line {n}')\nraise SystemExit(2)"
    with pytest.raises(SystemExit, match=rf"gotools: probe failed \(exit 2\) \(full log: {log}\)"):
        progress.run([sys.executable, "-c", script], what="probe", log_file=log)
    printed = capsys.readouterr().err
    assert "line 99" in printed and "line 60" in printed and "line 59" not in printed
    assert "line 0\n" in log.read_text()


def test_the_count_to_compile_is_what_go_build_v_compiles(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A module with a command and a library on an empty build cache: the total that `go
    # list` finds stale must be what `go build -v` then reports, and 0 once all is cached.
    module = tmp_path / "module"
    (module / "lib").mkdir(parents=True)
    (module / "go.mod").write_text("module example.com/probe\n\ngo 1.26\n")
    (module / "lib" / "lib.go").write_text("package lib\n\nfunc Answer() int { return 42 }\n")
    (module / "main.go").write_text(
        'package main\n\nimport "example.com/probe/lib"\n\nfunc main() { _ = lib.Answer() }\n'
    )
    env = golang.go_env(cgo=False)
    total = golang.count_to_compile(["."], what="probe", env=env, cwd=module)
    count = golang.PackageCount(total)
    progress.run(
        ["go", "build", "-v", "-trimpath", "-o", str(tmp_path / "probe"), "."],
        what="probe",
        env=env,
        cwd=module,
        progress=count,
    )
    assert total is not None and total > 2
    assert count.done == total
    # The main package is always relinked; everything else now comes from the cache.
    assert golang.count_to_compile(["./lib"], what="probe", env=env, cwd=module) == 0


def test_main_numbers_only_the_tools_it_builds(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    built = fake_tool("v1.0.0", prints="v1.0.0", name="built")
    installer.install(built, force=False)
    first = fake_tool("v1.0.0", prints="v1.0.0", calls=calls, name="first")
    second = fake_tool("v1.0.0", prints="v1.0.0", calls=calls, name="second")
    monkeypatch.setitem(catalog.GROUPS, "fakes", [built, first, second])
    gotools.main(["fakes"])
    assert calls == ["v1.0.0", "tool 1/2 first", "v1.0.0", "tool 2/2 second"]


def test_fails_when_memory_is_short_for_a_build(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(installer, "available_memory_gib", lambda: 0.5)
    monkeypatch.setitem(catalog.GROUPS, "fakes", [fake_tool("v1.0.0", prints="v1.0.0")])
    with pytest.raises(
        SystemExit, match=r"building fake needs about 1 GiB of memory, but only 0\.5 GiB"
    ):
        gotools.main(["fakes"])
    assert not (cache / "tools" / "fake-v1.0.0").exists()


def test_fails_when_disk_is_short_for_a_build(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installer, "free_disk_gib", lambda path: 0.25)
    tools = [fake_tool("v1.0.0", prints="v1.0.0"), catalog.KUBERNETES]
    monkeypatch.setattr(gotools, "is_current", lambda tool: False)
    monkeypatch.setitem(catalog.GROUPS, "fakes", tools)
    disk = 1 + catalog.KUBERNETES.build_disk_gib
    with pytest.raises(
        SystemExit,
        match=rf"building fake, kubernetes needs about {disk:g} GiB of disk under {cache}",
    ):
        gotools.main(["fakes"])


def test_no_preflight_when_nothing_is_built(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = fake_tool("v1.0.0", prints="v1.0.0")
    installer.install(tool, force=False)
    monkeypatch.setattr(installer, "available_memory_gib", lambda: 0.0)
    monkeypatch.setattr(installer, "free_disk_gib", lambda path: 0.0)
    monkeypatch.setitem(catalog.GROUPS, "fakes", [tool])
    gotools.main(["fakes"])
    assert os.readlink(cache / "bin" / "fake") == "../tools/fake-v1.0.0/fake"


# ---- the binaries that `make tools` / `make cluster-tools` built ------------------------------


def installed(link: str) -> Path:
    """Return $CACHE/bin/<link>, or skip the test with the target that builds it."""
    path = cache_dir() / "bin" / link
    if not path.exists():
        made_by_tools = catalog.GROUPS["helm"] + catalog.GROUPS["checkers"]
        target = "tools" if any(link in tool.links for tool in made_by_tools) else "cluster-tools"
        pytest.skip(f"{link} is not built: run `make {target}`")
    return path


BINARIES = [(tool, link) for tool in catalog.GROUPS["all"] for link in tool.links]


@pytest.mark.parametrize(
    ("tool", "link"), BINARIES, ids=[f"{tool.name}:{link}" for tool, link in BINARIES]
)
def test_built_binary_reports_the_pinned_version(tool: Any, link: str) -> None:
    path = installed(link)
    printed = installer.check_version(tool, path)
    assert tool.version.lstrip("v") in printed


@pytest.mark.parametrize("helm", ["helm", "helm3"])
def test_helm_default_kube_version_follows_its_client_go(helm: str, tmp_path: Path) -> None:
    # Helm 3 only knows its client-go version through -ldflags; without them it claims v1.20,
    # and charts whose kubeVersion needs a current Kubernetes fail to render.
    path = installed(helm)
    chart = tmp_path / "probe"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: probe\nversion: 0.1.0\n"
        f'kubeVersion: ">= {pins.KUBERNETES_VERSION}"\n'
    )
    (chart / "templates" / "probe.yaml").write_text(
        'kube: "{{ .Capabilities.KubeVersion.Version }}"\n'
    )
    result = subprocess.run([path, "template", chart], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rendered = re.search(r'kube: "v1\.(\d+)\.0"', result.stdout)
    assert rendered, result.stdout
    assert int(rendered.group(1)) >= int(pins.KUBERNETES_VERSION.split(".")[1])


PT_INTERP = 3  # the ELF program header type that names the dynamic loader


def has_elf_interpreter(binary: Path) -> bool:
    """Tell whether a 64-bit little-endian ELF file asks for a dynamic loader (PT_INTERP)."""
    data = binary.read_bytes()
    assert data[:6] == b"\x7fELF\x02\x01", f"{binary} is not a 64-bit little-endian ELF file"
    (program_headers,) = struct.unpack_from("<Q", data, 0x20)
    entry_size, entries = struct.unpack_from("<HH", data, 0x36)
    types = [
        struct.unpack_from("<I", data, program_headers + index * entry_size)[0]
        for index in range(entries)
    ]
    return PT_INTERP in types


@pytest.mark.parametrize(
    "link",
    [
        "pause",
        "etcd",
        "coredns",
        "metrics-server",
        "kube-router",
        "traefik",
        "prometheus-operator",
        "prometheus-config-reloader",
        "prometheus",
    ],
)
def test_image_binaries_are_static(link: str) -> None:
    # These run alone in images without a C library, so they must not need a dynamic loader.
    assert not has_elf_interpreter(installed(link).resolve())


def test_built_traefik_carries_the_crds_it_watches() -> None:
    folder = installed("traefik").resolve().parent / "gateway-api-crds"
    for kind in catalog.TRAEFIK_EXTRA_CRDS:
        text = (folder / f"gateway.networking.k8s.io_{kind}.yaml").read_text()
        assert "kind: CustomResourceDefinition" in text
        assert f"name: {kind}.gateway.networking.k8s.io" in text


def test_kubelet_is_built_with_cgo() -> None:
    # Kubernetes releases kubelet with cgo (the others are static); the check proves the
    # ELF probe above can tell the two apart.
    assert has_elf_interpreter(installed("kubelet").resolve())
