"""Failures put under faults, the error budget they spent, the SC-002 section (bench/soak.py)."""

import pytest

from bench import soak, soak_report


def sample(start, outcome="ok", kind="list tasks"):
    return (kind, start, 0.01, outcome)


FAULTS = [
    soak.Fault("pod killed", start=100.0, end=110.0),
    soak.Fault("database outage", announced=True, start=200.0, end=215.0),
]


def test_a_failure_belongs_to_the_fault_whose_window_and_grace_hold_its_start():
    late = 110.0 + soak.GRACE_SECONDS - 0.1
    samples = [
        sample(105.0, "HTTP 503"),
        sample(late, "ConnectError"),
        sample(late + 1, "HTTP 504"),
        sample(50.0),
    ]
    failed = soak.attribute(samples, FAULTS)
    assert [s[3] for s in failed["pod killed"]] == ["HTTP 503", "ConnectError"]
    assert [s[3] for s in failed["steady state"]] == ["HTTP 504"]
    assert failed["database outage"] == []


def test_the_budget_is_a_thousandth_of_thirty_days_of_requests():
    # At 1 request/s, 30 days hold 2,592,000 requests; 0.1 % of them is 2,592.
    assert soak.budget_share(2592, 1.0) == pytest.approx(1.0)
    assert soak.budget_share(1, 2.0) == pytest.approx(1 / 5184)


def test_availability_is_given_with_and_without_the_announced_outage():
    samples = [sample(float(t)) for t in range(0, 300)]
    samples += [sample(205.0, "HTTP 503"), sample(105.0, "HTTP 502")]
    results = soak.summarize(samples, FAULTS, 0.0, 300.0)
    assert results["requests"] == 302
    assert results["failed"] == 2
    assert results["answered_5xx"] == 2
    assert results["availability"] == pytest.approx(300 / 302)
    # The announced window (200 to 225 s) holds 25 + 1 requests, one failed.
    assert results["availability_without_announced"] == pytest.approx(275 / 276)
    by_name = {f["name"]: f for f in results["faults"]}
    assert by_name["database outage"]["failures"] == {"list tasks: HTTP 503": 1}
    assert by_name["steady state"]["failed"] == 0


def test_the_section_goes_after_the_sc_table_then_replaces_itself(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"intro\n{soak_report.AFTER}\n\n## Closing note\n")
    document = {
        "command": "make soak",
        "machine": {"date": "2026-12-02 21:00 UTC", "commit": "abc1234", "cores": 2},
        "results": {
            **soak.summarize([sample(1.0), sample(2.0, "HTTP 503")], [], 0.0, 60.0),
            "minutes": 1,
            "users": 10,
            "think_seconds": "0.5,1.5",
            "prometheus": {
                "recorded_window": "1h",
                "recorded_availability": 0.5,
                "user_route_requests": 2,
                "user_route_5xx": 1,
                "user_route_availability": 0.5,
            },
        },
    }
    soak_report.update_markdown(doc, document)
    soak_report.update_markdown(doc, document)
    text = doc.read_text()
    assert text.count(soak_report.BEGIN) == 1
    assert text.index(soak_report.AFTER) < text.index(soak_report.BEGIN)
    assert text.index(soak_report.END) < text.index("## Closing note")
    row = "| SC-002 availability under faults (load generator) | 50 % | >= 99.9 | NO | none set |"
    assert row in text
    # 2 requests a minute make 86,400 in 30 days, 86.4 of them the budget: 1 failed is 1.16 %.
    budget = "| SC-002 30-day error budget spent by the run's faults | 1.16 % | <= 100 | yes |"
    assert budget in text
