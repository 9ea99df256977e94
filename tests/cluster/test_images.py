"""Pushing images: each build is copied to the local registry once, a rebuild again."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from localcluster import images, settings
from localcluster.errors import ClusterError
from localcluster.settings import Paths

pytestmark = pytest.mark.cluster


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    cache = tmp_path / "cache"
    (cache / "images").mkdir(parents=True)
    manifest = {}
    for name in ("backend", "pause"):
        archive = cache / "images" / f"{name}.tar"
        archive.write_bytes(b"layers of " + name.encode())
        manifest[name] = {
            "ref": f"{settings.REGISTRY}/todo-chatbot/{name}:1",
            "archive": str(archive),
        }
    manifest["elsewhere"] = {"ref": "example.org/other:1", "archive": str(archive)}
    (cache / "images" / "manifest.json").write_text(json.dumps(manifest))
    return Paths(state=tmp_path / "state", run=tmp_path / "run", cache=cache, repo=tmp_path)


def test_each_build_is_pushed_once_and_a_rebuild_again(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: list[str] = []

    def skopeo(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        copied.append(argv[-1])
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(images, "run", skopeo)
    images.push_all(paths)
    images.push_all(paths)
    assert copied == [
        f"docker://{settings.REGISTRY}/todo-chatbot/backend:1",
        f"docker://{settings.REGISTRY}/todo-chatbot/pause:1",
    ]
    rebuilt = paths.cache / "images" / "backend.tar"
    rebuilt.write_bytes(b"new layers")
    os.utime(rebuilt, ns=(0, rebuilt.stat().st_mtime_ns + 1))
    images.push_all(paths)
    assert copied[2:] == [f"docker://{settings.REGISTRY}/todo-chatbot/backend:1"]


@pytest.mark.parametrize(
    ("name", "target"),
    [("coredns", "cluster-images"), ("frontend", "images"), ("foreign", "fixture-images")],
)
def test_an_image_not_built_names_the_make_target_that_builds_it(
    paths: Paths, name: str, target: str
) -> None:
    message = rf"^the {name} image is not built: run `make {target}`$"
    with pytest.raises(ClusterError, match=message):
        images.ref(paths, name)
