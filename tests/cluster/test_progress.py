"""Progress lines: a long silent wait prints a heartbeat naming what it waits for."""

import threading

import pytest
from localcluster import progress

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
