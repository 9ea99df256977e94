"""The supervisor starts detached processes, recognises them by pid file, and stops them."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from localcluster import supervisor
from localcluster.errors import ClusterError
from localcluster.settings import Paths

pytestmark = pytest.mark.cluster


def live_members_of_group(pgid: int) -> list[int]:
    """Processes of a process group that are still alive (zombies await their parent only)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(state=tmp_path / "state", run=tmp_path / "run", cache=tmp_path, repo=tmp_path)


def test_start_logs_output_and_stop_ends_the_whole_process_group(paths: Paths) -> None:
    # The child forks a grandchild; stopping the child must end the grandchild too.
    script = (
        "import subprocess, time; print('hello', flush=True); "
        "subprocess.Popen(['sleep', '300']); time.sleep(300)"
    )
    pid = supervisor.start(paths, supervisor.Process("demo", [sys.executable, "-c", script]))
    supervisor.wait_healthy(
        paths, "demo", lambda: "hello" in paths.log("demo").read_text(), timeout_seconds=10
    )
    assert supervisor.running_pid(paths, "demo") == pid
    assert supervisor.start(paths, supervisor.Process("demo", ["false"])) == pid
    assert supervisor.stop(paths, "demo") is True
    assert supervisor.running_pid(paths, "demo") is None
    assert live_members_of_group(pid) == []
    assert supervisor.stop(paths, "demo") is False


def test_a_reused_pid_is_not_taken_for_our_process(paths: Paths) -> None:
    paths.pids.mkdir(parents=True)
    (paths.pids / "ghost.pid").write_text(f"{os.getpid()} 1\n")
    assert supervisor.running_pid(paths, "ghost") is None
    assert supervisor.stop(paths, "ghost") is False
    os.kill(os.getpid(), 0)  # this test process was not signalled


def test_wait_healthy_names_the_log_when_the_process_dies(paths: Paths) -> None:
    supervisor.start(paths, supervisor.Process("crasher", [sys.executable, "-c", "exit(3)"]))
    with pytest.raises(
        ClusterError, match=r"^crasher exited during start-up: read .*crasher\.log$"
    ):
        supervisor.wait_healthy(paths, "crasher", lambda: False, timeout_seconds=10)


def test_wait_healthy_times_out_with_the_log_to_read(paths: Paths) -> None:
    supervisor.start(paths, supervisor.Process("stuck", ["sleep", "30"]))
    try:
        with pytest.raises(ClusterError, match=r"^stuck not healthy after 1s: read .*stuck\.log$"):
            supervisor.wait_healthy(paths, "stuck", lambda: False, timeout_seconds=1)
    finally:
        supervisor.stop(paths, "stuck", stop_signal=signal.SIGKILL)


def test_a_marked_process_without_a_pid_file_is_found_and_stopped(paths: Paths) -> None:
    # As after a crash between starting a process and writing its pid file.
    env = {**os.environ, supervisor.MARKER: str(paths.state)}
    orphan = subprocess.Popen(["sleep", "60"], env=env)
    other = subprocess.Popen(["sleep", "60"], env={**env, supervisor.MARKER: "/another/state"})
    try:
        assert supervisor.marked_pids(paths) == {orphan.pid}
        assert supervisor.stop_marked(paths) == {orphan.pid}
        assert orphan.wait(timeout=10) == -signal.SIGTERM
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
