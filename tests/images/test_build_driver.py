"""Unit tests of the image build (images/imagebuild): apt sources, the rootfs scrub, digests.

Nothing here runs buildah or debootstrap; the built images are tested by the other modules.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from image_helpers import REPO
from imagebuild import buildah, catalogue, common, nextjs, rootfs, wheels
from toolchain import pins
from toolchain.node import NODE

pytestmark = pytest.mark.images


def write(path: Path, text: str) -> Path:
    """Write a file, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_reads_deb822_and_one_line_sources_of_the_debian_suite(tmp_path: Path) -> None:
    write(
        tmp_path / "sources.list.d" / "debian.sources",
        "Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://mirror.test/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://disabled.test/debian\nSuites: bookworm\nEnabled: no\n",
    )
    write(tmp_path / "sources.list", "# deb http://commented.test bookworm main\n")
    write(
        tmp_path / "sources.list.d" / "other.list",
        "deb [arch=amd64] https://x.test nodistro main\n",
    )
    write(tmp_path / "sources.list.d" / "vendor.sources.disabled", "Types: deb\nURIs: http://y\n")

    sources = rootfs.host_apt_sources(tmp_path)

    assert [(s.uri, s.suites) for s in sources] == [
        ("http://mirror.test/debian", ("bookworm", "bookworm-updates")),
        ("http://mirror.test/debian-security", ("bookworm-security",)),
    ]


def test_image_sources_use_the_hosts_mirror_and_security_archive() -> None:
    text = rootfs.image_apt_sources("http://mirror.test/debian", "http://mirror.test/sec")
    assert "URIs: http://mirror.test/debian\nSuites: bookworm bookworm-updates\n" in text
    assert "URIs: http://mirror.test/sec\nSuites: bookworm-security\n" in text


def test_scrub_empties_host_dns_and_drops_apt_lists_logs_and_docs(tmp_path: Path) -> None:
    write(tmp_path / "etc/resolv.conf", "nameserver 192.0.2.53\n")
    write(tmp_path / "etc/hostname", "build-host\n")
    write(tmp_path / "var/lib/apt/lists/deb.debian.org_Packages", "index")
    write(tmp_path / "var/cache/apt/archives/python3.deb", "deb")
    write(tmp_path / "var/log/dpkg.log", "log")
    write(tmp_path / "usr/share/doc/python3/copyright", "license")
    write(tmp_path / "usr/share/doc/python3/changelog.gz", "changes")
    write(tmp_path / "usr/share/man/man1/python3.1.gz", "man")
    write(tmp_path / "usr/bin/python3", "binary")

    rootfs.scrub_rootfs(tmp_path)

    assert (tmp_path / "etc/resolv.conf").read_text() == ""
    assert (tmp_path / "etc/hostname").read_text() == ""
    assert not list((tmp_path / "var/lib/apt/lists").iterdir())
    assert not list((tmp_path / "var/cache/apt/archives").iterdir())
    assert not (tmp_path / "var/log/dpkg.log").exists()
    assert sorted(p.name for p in (tmp_path / "usr/share/doc/python3").iterdir()) == ["copyright"]
    assert not list((tmp_path / "usr/share/man").iterdir())
    assert (tmp_path / "usr/bin/python3").read_text() == "binary"


def test_tree_digest_follows_contents_and_ignores_bytecode(tmp_path: Path) -> None:
    source = write(tmp_path / "pkg" / "module.py", "VALUE = 1\n")
    before = common.tree_digest([tmp_path / "pkg"])

    write(tmp_path / "pkg" / "__pycache__" / "module.cpython-311.pyc", "bytecode")
    assert common.tree_digest([tmp_path / "pkg"]) == before

    source.write_text("VALUE = 2\n")
    assert common.tree_digest([tmp_path / "pkg"]) != before


def sample_image(tmp_path: Path) -> buildah.Image:
    """An image of one Containerfile (`FROM scratch`) in tmp_path/ctx, not exported."""
    return buildah.Image(
        name="sample",
        ref="localhost/sample:1",
        containerfile=write(tmp_path / "ctx" / "Containerfile", "FROM scratch\n"),
        context=tmp_path / "ctx",
        export=False,
    )


def test_a_changed_input_means_the_image_is_not_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE", str(tmp_path / "cache"))
    image = sample_image(tmp_path)
    containerfile = image.containerfile
    inputs = buildah.inputs_digest(image, None, None)
    write(image.stamp, json.dumps({"inputs": "another-digest", "image_id": "abc"}))
    assert not buildah.is_current(image, inputs)

    containerfile.write_text("FROM scratch\nLABEL changed=yes\n")
    changed = buildah.inputs_digest(image, None, None)
    assert changed != inputs

    # A release: the same files, a new version label.
    image.labels = {"org.opencontainers.image.version": "2.0.0"}
    assert buildah.inputs_digest(image, None, None) != changed


def test_an_unchanged_image_is_cached_not_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE", str(tmp_path / "cache"))
    store: dict[str, str] = {}
    commands: list[list[str]] = []

    def fake_buildah(command: list[str], **kwargs: object) -> str:
        # What buildah would do: the build tags a new image in the store.
        commands.append(command)
        store["localhost/sample:1"] = f"sha256:{len(commands)}"
        return ""

    def fake_capture(command: list[str]) -> subprocess.CompletedProcess[str]:
        # `buildah rmi` of the superseded build.
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(buildah, "run", fake_buildah)
    monkeypatch.setattr(buildah, "capture", fake_capture)
    monkeypatch.setattr(buildah, "image_id", store.get)
    image = sample_image(tmp_path)
    containerfile = image.containerfile

    assert buildah.build_image(image, base_ref=None, force=False) == "built"
    assert buildah.build_image(image, base_ref=None, force=False) == "cached"
    assert len(commands) == 1
    assert buildah.is_current(image, buildah.inputs_digest(image, None, None))

    containerfile.write_text("FROM scratch\nLABEL changed=yes\n")
    assert buildah.build_image(image, base_ref=None, force=False) == "built"
    assert commands[1][:2] == ["buildah", "build"]
    assert commands[2] == ["buildah", "rmi", "sha256:1"]


def test_buildah_progress_is_the_step_it_runs() -> None:
    progress = buildah.BuildahSteps()
    assert progress.describe() == ""
    progress.feed("[1/2] STEP 3/9: RUN python3 -m venv /opt/venv\n")
    progress.feed("Collecting fastapi==0.163.2\n")
    assert progress.describe() == "[1/2] STEP 3/9: RUN python3 -m venv /opt/venv"
    progress.feed("STEP 2/4: RUN " + "x" * 200 + "\n")
    assert progress.describe().startswith("STEP 2/4: RUN xxx")
    assert len(progress.describe()) == 72


def test_wheel_progress_counts_the_packages_pip_collects() -> None:
    progress = wheels.WheelCount(3)
    for line in ["Collecting fastapi==0.163.2 (from -r x.txt (line 1))\n", "  Downloading a.whl\n"]:
        progress.feed(line)
    assert progress.describe() == "1/3 packages collected"


def test_hashed_requirements_pin_each_package_with_the_lock_hashes() -> None:
    packages = {
        "pyjwt": {"version": "==2.15.1", "hashes": ["sha256:aa", "sha256:bb"]},
        "typing-extensions": {"version": "==4.16.0", "hashes": ["sha256:cc"]},
    }
    text = wheels.hashed_requirements(
        [("typing_extensions", "4.16.0"), ("PyJWT", "2.15.1")], packages
    )
    assert text == (
        "pyjwt==2.15.1 --hash=sha256:aa --hash=sha256:bb\n"
        "typing-extensions==4.16.0 --hash=sha256:cc\n"
    )


@pytest.mark.parametrize("resolved", [("idna", "3.20"), ("pyjwt", "2.15.0")])
def test_fails_when_a_resolved_package_has_no_hash_in_the_lock(resolved: tuple[str, str]) -> None:
    packages = {"pyjwt": {"version": "==2.15.1", "hashes": ["sha256:aa"]}}
    with pytest.raises(SystemExit, match=rf"{resolved[0]}=={resolved[1]} has no hashes in Pipfile"):
        wheels.hashed_requirements([resolved], packages)


def test_the_lock_pins_every_package_of_the_app_images_with_hashes() -> None:
    packages = wheels.lock_packages()
    for app in (*catalogue.APPS, *catalogue.FIXTURES):
        for line in (REPO / "app" / app / "requirements.txt").read_text().splitlines():
            if line and not line.startswith("#"):
                name, version = line.split("==")
                entry = packages[wheels.canonical_name(name.split("[")[0])]
                assert entry["version"] == f"=={version}" and entry["hashes"], line


def test_component_version_prefers_the_command_line_then_the_toolchain_pin() -> None:
    coredns = next(c for c in catalogue.COMPONENTS if c.name == "coredns")
    assert catalogue.component_version(coredns, {}) == pins.COREDNS_VERSION
    assert catalogue.component_version(coredns, {"coredns": "v9.9.9"}) == "v9.9.9"


def test_pause_is_tagged_3_10_and_labelled_with_the_binarys_release(tmp_path: Path) -> None:
    pause = next(c for c in catalogue.COMPONENTS if c.name == "pause")
    image = catalogue.component_image(pause, "v3.10.1", tmp_path)
    assert image.ref == "localhost:5001/todo-chatbot/pause:3.10"
    assert image.labels == {"org.opencontainers.image.version": "v3.10.1"}


def test_a_static_binary_component_gets_the_shared_containerfile_with_its_own_runtime(
    tmp_path: Path,
) -> None:
    coredns = next(c for c in catalogue.COMPONENTS if c.name == "coredns")
    image = catalogue.component_image(coredns, pins.COREDNS_VERSION, tmp_path)
    assert image.containerfile == tmp_path / "Containerfile"
    assert image.build_args == {
        "NAME": "coredns",
        "BINARY": "/coredns",
        "CAPABILITY": "cap_net_bind_service=+ep",
    }
    assert coredns.static is not None
    text = coredns.static.containerfile("coredns")
    shared = (REPO / "images" / "static-binary" / "Containerfile").read_text()
    assert text.startswith(shared)
    assert text.removeprefix(shared).splitlines()[-3:] == [
        "USER 65532:65532",
        "EXPOSE 53 53/udp",
        'ENTRYPOINT ["/coredns"]',
    ]


def test_a_static_binary_with_an_upstream_path_is_placed_and_run_there(tmp_path: Path) -> None:
    # The Prometheus Operator runs its sidecar by this path (its container's command).
    reloader = next(c for c in catalogue.COMPONENTS if c.name == "prometheus-config-reloader")
    image = catalogue.component_image(reloader, pins.PROMETHEUS_OPERATOR_VERSION, tmp_path)
    assert image.build_args["BINARY"] == "/bin/prometheus-config-reloader"
    assert reloader.static is not None
    text = reloader.static.containerfile(reloader.name)
    assert text.splitlines()[-1] == 'ENTRYPOINT ["/bin/prometheus-config-reloader"]'


def test_every_static_binary_component_gives_the_shared_containerfile_its_base() -> None:
    # Its first stage starts from BASE_IMAGE, for the CA bundle and setcap.
    static = [c.name for c in catalogue.COMPONENTS if c.static]
    assert set(static) == set(catalogue.STATIC_BINARIES)
    assert [c.name for c in catalogue.COMPONENTS if c.static and not c.on_debian] == []


def test_the_charts_default_registry_is_the_local_clusters_the_images_are_tagged_for() -> None:
    # values.py keeps a literal: the constructs package is installed without cluster/.
    from localcluster import settings
    from todo_chatbot.values import Image

    assert Image().registry == settings.REGISTRY
    assert catalogue.app_image("backend", "1.0.0").ref.startswith(f"{settings.REGISTRY}/")


def test_app_images_take_the_project_version_as_tag() -> None:
    version = (REPO / "VERSION").read_text().strip()
    image = catalogue.app_image("backend", version)
    assert image.ref == f"localhost:5001/todo-chatbot/backend:{version}"
    assert image.context == REPO / "app"
    assert image.requirements == REPO / "app" / "backend" / "requirements.txt"


def test_the_apps_share_one_dockerfile_their_argument_and_target_pick_the_app() -> None:
    image = catalogue.app_image("frontend", "1.0.0")
    assert image.containerfile == REPO / "app" / "Dockerfile"
    assert (image.build_args["APP"], image.target) == ("frontend", "frontend")
    assert REPO / "app" / "frontend" in image.inputs


def test_the_fixture_image_is_an_app_image_without_the_shared_package() -> None:
    version = (REPO / "VERSION").read_text().strip()
    image = catalogue.app_image("foreign", version)
    assert image.ref == f"localhost:5001/todo-chatbot/foreign:{version}"
    assert image.containerfile == REPO / "app" / "foreign" / "Dockerfile"
    assert image.inputs == [REPO / "app" / "foreign", REPO / "app" / ".dockerignore"]
    assert image.requirements == REPO / "app" / "foreign" / "requirements.txt"


def test_the_next_image_is_its_apps_containerfile_around_the_host_build(tmp_path: Path) -> None:
    version = (REPO / "VERSION").read_text().strip()
    image = catalogue.next_image(version, tmp_path)
    assert image.ref == f"localhost:5001/todo-chatbot/frontend-next:{version}"
    assert image.containerfile == REPO / "app" / "frontend-next" / "Containerfile"
    # The context is the host build (node, standalone/): its digest decides a rebuild.
    assert (image.context, image.inputs) == (tmp_path, [tmp_path])
    assert image.requirements is None


def test_every_file_of_the_next_app_is_a_source_of_its_build_or_its_containerfile() -> None:
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "app/frontend-next"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked
    unbuilt = [
        name
        for name in tracked
        if Path(name).relative_to("app/frontend-next").parts[0] not in nextjs.SOURCES
    ]
    # A file outside SOURCES would not rebuild the app when it changes.
    assert sorted(unbuilt) == ["app/frontend-next/.gitignore", "app/frontend-next/Containerfile"]


def test_the_next_build_runs_the_toolchains_node_installing_it_if_missing() -> None:
    node = nextjs.node_binary()
    assert node == NODE.folder / "node"
    printed = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    assert printed.stdout.strip() == NODE.version


def test_every_image_of_the_catalogue_names_a_make_target_that_runs_the_build() -> None:
    makefile = (REPO / "Makefile").read_text()
    names = [
        *catalogue.APPS,
        *catalogue.FIXTURES,
        catalogue.NEXT,
        *(c.name for c in catalogue.COMPONENTS),
    ]
    assert sorted(catalogue.BUILT_BY) == sorted(names)
    for target in set(catalogue.BUILT_BY.values()):
        assert re.search(rf"^{target}:.*\n\tpython3 images/build\.py ", makefile, re.M), target
