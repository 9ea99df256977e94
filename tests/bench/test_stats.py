"""Percentiles and per-kind summaries of load samples (bench/stats.py)."""

import pytest

from bench import stats


def test_percentile_interpolates_between_closest_ranks():
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert stats.percentile([10.0, 20.0], 95) == pytest.approx(19.5)


def test_percentile_ignores_input_order():
    assert stats.percentile([4.0, 1.0, 3.0, 2.0], 100) == 4.0
    assert stats.percentile([4.0, 1.0, 3.0, 2.0], 0) == 1.0


def test_percentile_of_nothing_is_none():
    assert stats.percentile([], 95) is None


def test_fails_when_percentile_is_out_of_range():
    with pytest.raises(ValueError, match=r"'pct' must be between 0 and 100, got 101"):
        stats.percentile([1.0], 101)


SAMPLES = [
    ("list tasks", 100.0, 0.010, "ok"),
    ("list tasks", 101.0, 0.030, "ok"),
    ("add task", 102.0, 0.020, "HTTP 503"),
    ("add task", 103.0, 0.040, "ConnectError"),
    ("chat", 110.0, 0.500, "ok"),
]


def test_summary_counts_errors_by_kind_and_overall():
    summary = stats.summarize(SAMPLES)
    assert summary["add task"].errors == 2
    assert summary["add task"].errors_by_kind == {"ConnectError": 1, "HTTP 503": 1}
    assert summary["list tasks"].errors == 0
    assert summary["all"].count == 5
    assert summary["all"].errors == 2


def test_summary_reports_milliseconds():
    summary = stats.summarize(SAMPLES)
    assert summary["list tasks"].p50_ms == 20.0
    assert summary["chat"].max_ms == 500.0


def test_summary_keeps_only_the_window():
    summary = stats.summarize(SAMPLES, start=101.0, end=110.0)
    assert summary["all"].count == 3
    assert "chat" not in summary


def test_rate_is_requests_per_second_of_the_window():
    assert stats.rate(SAMPLES, 100.0, 104.0) == 1.0
    assert stats.rate(SAMPLES, 100.0, 100.0) == 0.0


def test_samples_are_read_from_the_generator_json():
    assert stats.from_json([["page", 1, "0.5", "ok"]]) == [("page", 1.0, 0.5, "ok")]
