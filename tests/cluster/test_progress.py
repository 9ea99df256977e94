"""Progress lines: each step says how it ended; a long silent wait prints a heartbeat."""

import threading

import pytest
from localcluster import progress
from localcluster.errors import ClusterError

pytestmark = pytest.mark.cluster


def test_heartbeat_names_the_wait_and_its_elapsed_time_until_the_block_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines: list[str] = []
    two_beats = threading.Event()

    def record(message: str) -> None:
        lines.append(message)
        if len(lines) == 2:
            two_beats.set()

    monkeypatch.setattr(progress, "say", record)
    with progress.heartbeat("deployment/coredns", every_seconds=0.01):
        assert two_beats.wait(timeout=10)
    beats = len(lines)
    assert all(line.startswith("still waiting for deployment/coredns (") for line in lines)
    assert lines[0].endswith("s)")
    # The block has ended: the thread is gone, so no beat follows.
    assert not any(t.name == "heartbeat" for t in threading.enumerate())
    assert len(lines) == beats


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(progress, "say", lines.append)
    return lines


def test_a_step_says_when_it_is_done(said: list[str]) -> None:
    with progress.step("containerd"):
        pass
    assert said[0] == "containerd ..."
    assert said[1].startswith("containerd: done in ")
    assert len(said) == 2


def test_a_failing_step_says_it_failed_and_lets_the_error_through(said: list[str]) -> None:
    with pytest.raises(ClusterError, match="etcd did not answer"), progress.step("control plane"):
        raise ClusterError("etcd did not answer")
    assert said[0] == "control plane ..."
    assert said[1].startswith("control plane: failed after ")
    assert said[1].endswith("s")
    assert len(said) == 2
