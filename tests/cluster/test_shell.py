"""The local cluster's command runner: a failed command's error says why it failed."""

from __future__ import annotations

import pytest
from localcluster.errors import ClusterError
from localcluster.shell import run


def test_a_failure_names_the_error_line_not_the_trailing_hint() -> None:
    script = 'echo "Error: the chart needs secrets.databaseUrl" >&2; echo "Use --debug" >&2; exit 1'
    with pytest.raises(ClusterError, match=r"failed: Error: the chart needs secrets\.databaseUrl$"):
        run(["sh", "-c", script])


def test_a_failure_without_an_error_line_names_its_last_line() -> None:
    with pytest.raises(ClusterError, match=r"failed: last words$"):
        run(["sh", "-c", "echo first >&2; echo last words >&2; exit 3"])
