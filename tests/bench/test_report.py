"""Targets met or not, and the table (bench/report.py)."""

import copy

from bench import report


def level(users, *, p95_ms, errors=0):
    return {
        "users": users,
        "task_calls": {"p95_ms": p95_ms},
        "by_kind": {"all": {"errors": errors, "count": 1000}},
    }


RESULTS = {
    "sc001": {"all_ready_seconds": 12.0, "helm_install_wait_seconds": 11.0},
    "sc003": {"crash": {"ready_again_seconds": 4.0, "detected_seconds": 1.0}},
    "sc004": {"serving_seconds": 20.0, "ready_seconds": 4.0},
    "sc005": {"p95_seconds": 0.4, "p50_seconds": 0.2, "loads": 40},
    "sc007": {"failed": 0, "requests": 12_000},
    "sc008": {
        "levels": [level(100, p95_ms=90.0), level(200, p95_ms=240.0), level(300, p95_ms=900.0)],
        "stopped_because": "",
        "restarts": {},
    },
}


def by_name(rows, prefix):
    return next(row for row in rows if row.name.startswith(prefix))


def test_lower_is_better_figures_meet_targets_at_or_below_them():
    rows = report.figures(RESULTS)
    sc004 = by_name(rows, "SC-004")
    assert sc004.spec_met is True
    assert sc004.stretch_met is False


def test_most_users_counts_only_levels_without_degradation():
    rows = report.figures(RESULTS)
    most = by_name(rows, "SC-008 most users")
    assert most.value == 200
    assert most.spec_met is True
    assert most.stretch_met is False


def test_a_level_with_errors_is_degraded():
    assert not report.level_ok(level(100, p95_ms=10.0, errors=1))
    assert report.level_ok(level(100, p95_ms=10.0))


def test_sc007_stretch_needs_ten_thousand_requests():
    few = copy.deepcopy(RESULTS)
    few["sc007"]["requests"] = 9_999
    assert by_name(report.figures(RESULTS), "SC-007").stretch_met is True
    assert by_name(report.figures(few), "SC-007").stretch_met is False


def test_a_failed_request_misses_sc007():
    failed = copy.deepcopy(RESULTS)
    failed["sc007"]["failed"] = 1
    sc007 = by_name(report.figures(failed), "SC-007")
    assert sc007.spec_met is False
    assert sc007.stretch_met is False


def test_missing_level_is_not_applicable():
    missing = copy.deepcopy(RESULTS)
    missing["sc008"]["levels"] = [level(20, p95_ms=10.0)]
    row = by_name(report.figures(missing), "SC-008 task-call p95")
    assert row.value is None
    assert row.spec_met is None


def test_table_marks_each_target():
    table = report.table(report.figures(RESULTS))
    row = "| SC-004 backend 1 -> 2: second replica serving | 20.00 s | <= 120 | yes | <= 15 | NO |"
    assert row in table
