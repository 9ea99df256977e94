"""`make soak`: SC-002 measured, availability under steady load while a fault schedule runs.

Its own release `soak` (namespace `soak`, 2 replicas of each component, monitored by the
cluster's Prometheus like `make up`'s) takes steady load from the user's namespace for the
whole run, while one fault of each kind is made at even intervals: a frontend pod killed, a
backend process hung (liveness restarts it), `helm upgrade` with a config change, the
backend scaled 2 -> 1 -> 2, a backend rollout, and a short PostgreSQL outage, announced as
such (planned maintenance: the report gives the availability with and without it).

Availability is measured twice and compared: by the load generator (requests answered as
expected / all requests sent, whatever happened to them) and by Prometheus (the frontend's
requests answered without a 5xx, from the chart's recorded series and from the raw counters
of the user's routes). Each failed request is attributed to the fault whose window (start
until the release settled, plus a grace) holds its start, and the 30-day error budget of
99.9 % that each fault consumed is worked out at the run's request rate.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcluster import deploy, monitoring, postgres
from localcluster.kubectl import kubectl
from localcluster.settings import paths_from_env
from todo_chatbot.prometheus_rule import record_name

from bench import host, prometheus, release, scenarios, soak_report, stats
from bench.kube import Pod, poll

REPO = Path(__file__).resolve().parents[1]
RELEASE = release.Release(name="soak", namespace="soak", node_port=30490, monitored=True)
DEFAULT_MINUTES = 30
# The run's steady load: about 9 requests a second, a tenth of what the machine holds (SC-008).
USERS = 10
THINK = "0.5,1.5"
OBJECTIVE = 0.999
BUDGET_DAYS = 30
DATABASE_OUTAGE_SECONDS = 10
# Requests sent while a fault settles may fail a little later (a timeout, a drain): a
# failure this long after the release settled is still the fault's.
GRACE_SECONDS = 10
# The report's time buckets, for availability and p95 over time.
BUCKET_SECONDS = 30
HA = {"backend": {"replicaCount": 2}, "frontend": {"replicaCount": 2}}
BOTH = {"backend": 2, "frontend": 2}


@dataclass
class Fault:
    """One fault of the schedule: what it is, when it began and when the release settled."""

    name: str
    announced: bool = False
    start: float = 0.0
    end: float = 0.0


class Faults:
    """The fault schedule's actions on the soak release; each returns once it has settled."""

    def __init__(self, bench: scenarios.Bench) -> None:
        """Act on `bench`'s release."""
        self.bench = bench

    def schedule(self) -> list[tuple[Fault, Callable[[], None]]]:
        """Every fault, in the order they are made."""
        return [
            (Fault("frontend pod killed (SIGKILL)"), self.kill_frontend),
            (Fault("backend process hung (SIGSTOP)"), self.hang_backend),
            (Fault("helm upgrade with a config change"), self.upgrade),
            (Fault("backend scaled 2 -> 1 -> 2"), self.scale_down_and_up),
            (Fault("backend rollout"), self.rollout),
            (
                Fault(f"database outage of {DATABASE_OUTAGE_SECONDS} s", announced=True),
                self.database_outage,
            ),
        ]

    def _restart(self, component: str, signal_name: str) -> None:
        """Send a signal to one pod's container process; wait until it restarted and is Ready."""
        victim = self.bench.pods(component)[0]
        self.bench.log(f"soak: {signal_name} to {victim.name}")
        scenarios.ctr(
            self.bench, victim, "task", "kill", "--signal", signal_name, victim.container_id
        )

        def restarted(pods: list[Pod]) -> bool:
            return any(p.name == victim.name and p.restarts > victim.restarts for p in pods)

        self.bench.kube.wait_pods(
            f"{victim.name} restarted", restarted, namespace=self.bench.release.namespace
        )
        self.bench.wait_settled(BOTH)

    def kill_frontend(self) -> None:
        """A frontend pod's process is killed: the kubelet restarts its container."""
        self._restart("frontend", "SIGKILL")

    def hang_backend(self) -> None:
        """A backend's process stops answering: readiness takes it out, liveness restarts it."""
        self._restart("backend", "SIGSTOP")

    def upgrade(self) -> None:
        """`helm upgrade` with another log level (debug): both Deployments roll."""
        self.bench.log("soak: helm upgrade with config.logLevel=debug")
        changed = deploy.merge_values(HA, {"config": {"logLevel": "debug"}})
        release.helm_upgrade(self.bench.paths, self.bench.release, self.bench.chart_ref, changed)
        self.bench.wait_settled(BOTH)

    def scale_down_and_up(self) -> None:
        """The backend scaled 2 -> 1, settled, then back to 2."""
        for replicas in (1, 2):
            self.bench.log(f"soak: backend scaled to {replicas}")
            release.scale(self.bench.paths, self.bench.release, "backend", replicas)
            self.bench.wait_settled({"backend": replicas, "frontend": 2})

    def rollout(self) -> None:
        """`kubectl rollout restart` of the backend: new pods replace the old ones one by one."""
        deployment = self.bench.release.deployment("backend")
        self.bench.log(f"soak: rollout restart of {deployment}")
        namespace = self.bench.release.namespace
        kubectl(self.bench.paths, "-n", namespace, "rollout", "restart", f"deployment/{deployment}")
        kubectl(
            self.bench.paths,
            "-n",
            namespace,
            "rollout",
            "status",
            f"deployment/{deployment}",
            f"--timeout={scenarios.READY_TIMEOUT_SECONDS}s",
            timeout=scenarios.READY_TIMEOUT_SECONDS + 30,
        )
        self.bench.wait_settled(BOTH)

    def database_outage(self) -> None:
        """The host's PostgreSQL stopped for a few seconds, then started again (maintenance)."""
        self.bench.log(
            f"soak: ANNOUNCED MAINTENANCE: PostgreSQL stopped for {DATABASE_OUTAGE_SECONDS} s"
        )
        postgres.stop(self.bench.paths)
        try:
            time.sleep(DATABASE_OUTAGE_SECONDS)
        finally:
            postgres.start(self.bench.paths)
        self.bench.log("soak: PostgreSQL is back")
        self.bench.wait_settled(BOTH)


def run_faults(bench: scenarios.Bench, began: float, seconds: float) -> list[Fault]:
    """Make each fault at its slot (evenly spread over the run, or when the one before has
    settled if that is later); return them with their times."""
    schedule = Faults(bench).schedule()
    slot = seconds / (len(schedule) + 1)
    done = []
    for index, (fault, action) in enumerate(schedule, start=1):
        time.sleep(max(0.0, began + index * slot - time.time()))
        fault.start = time.time()
        action()
        fault.end = time.time()
        bench.log(f"soak: {fault.name}: settled after {fault.end - fault.start:.1f} s")
        done.append(fault)
    time.sleep(max(0.0, began + seconds - time.time()))
    return done


def attribute(samples: list[stats.Sample], faults: list[Fault]) -> dict[str, list[stats.Sample]]:
    """Each failed request under the fault whose window holds its start, or "steady state"."""
    failed: dict[str, list[stats.Sample]] = {f.name: [] for f in faults}
    failed["steady state"] = []
    for sample in samples:
        if sample[3] == "ok":
            continue
        owner = next(
            (f.name for f in faults if f.start <= sample[1] < f.end + GRACE_SECONDS),
            "steady state",
        )
        failed[owner].append(sample)
    return failed


def budget_share(failed: int, requests_per_second: float) -> float:
    """The share of a 30-day error budget that `failed` requests spend at this request rate."""
    budget = (1 - OBJECTIVE) * requests_per_second * BUDGET_DAYS * 86400
    return failed / budget if budget else 0.0


def from_prometheus(start: float, end: float) -> dict[str, Any]:
    """What Prometheus saw of the frontend over [start, end]: its availability, two ways.

    The chart's recorded series over 1 h (or 1 d for a longer run; the namespace is new, so
    either holds the whole run and the minutes before it), which counts the probes too; and
    the raw counters of the user's routes over the run only, as the load generator counts.
    Asked once the last scrape and rule evaluation after `end` are in.
    """
    seconds = round(end - start)
    window = "1h" if seconds <= 3600 else "1d"
    selector = _frontend()
    user_routes = f"{selector},route!~'/healthz|/readyz'"
    evaluated = end + monitoring.EVALUATION_INTERVAL_SECONDS
    time.sleep(max(0.0, evaluated + 5 - time.time()))

    def increase(extra: str) -> float:
        query = f"sum(increase(http_requests_total{{{user_routes}{extra}}}[{seconds}s]))"
        return prometheus.value(query, end) or 0.0

    requests, errors = increase(""), increase(",status=~'5..'")
    step = BUCKET_SECONDS
    return {
        "recorded_window": window,
        "recorded_availability": prometheus.value(
            f"{record_name('availability', f'ratio_rate{window}')}{{{selector}}}", evaluated
        ),
        "user_route_requests": round(requests),
        "user_route_5xx": round(errors),
        "user_route_availability": 1 - errors / requests if requests else None,
        "availability_5m": prometheus.series(
            f"{record_name('availability', 'ratio_rate5m')}{{{selector}}}", start, end, step
        ),
        "p95_5m": prometheus.series(
            f"{record_name('http_request_duration_seconds', 'p95_5m')}{{{selector}}}",
            start,
            end,
            step,
        ),
    }


def summarize(
    samples: list[stats.Sample], faults: list[Fault], start: float, end: float
) -> dict[str, Any]:
    """The load generator's availability, overall and without the announced outage, and
    what each fault cost."""
    window = [s for s in samples if start <= s[1] < end]
    rate = len(window) / (end - start)
    failed = attribute(window, faults)
    announced = [f for f in faults if f.announced]
    outside_announced = [
        s for s in window if not any(f.start <= s[1] < f.end + GRACE_SECONDS for f in announced)
    ]
    per_fault = []
    for fault in [*faults, Fault("steady state")]:
        lost = failed[fault.name]
        per_fault.append(
            {
                "name": fault.name,
                "announced": fault.announced,
                "start": fault.start,
                "end": fault.end,
                "settled_seconds": round(fault.end - fault.start, 1) if fault.end else None,
                "failed": len(lost),
                "budget_share": budget_share(len(lost), rate),
                "failures": dict(Counter(f"{s[0]}: {s[3]}" for s in lost).most_common()),
            }
        )
    return {
        "requests": len(window),
        "failed": sum(s[3] != "ok" for s in window),
        # What a pod answered with a 5xx, which its counters hold too (the rest never had an
        # answer, or had another status).
        "answered_5xx": sum(s[3].startswith("HTTP 5") for s in window),
        "requests_per_second": round(rate, 2),
        "availability": _ok_share(window),
        "availability_without_announced": _ok_share(outside_announced),
        "faults": per_fault,
        "buckets": _buckets(window, start, end),
    }


def _ok_share(samples: list[stats.Sample]) -> float | None:
    return sum(s[3] == "ok" for s in samples) / len(samples) if samples else None


def _buckets(samples: list[stats.Sample], start: float, end: float) -> list[dict[str, Any]]:
    """Availability and p95 (ms) of the requests started in each BUCKET_SECONDS."""
    buckets = []
    edge = start
    while edge < end:
        inside = [s for s in samples if edge <= s[1] < edge + BUCKET_SECONDS]
        buckets.append(
            {
                "start": edge,
                "requests": len(inside),
                "availability": _ok_share(inside),
                "p95_ms": stats.KindSummary.of("all", inside).p95_ms,
            }
        )
        edge += BUCKET_SECONDS
    return buckets


def _frontend() -> str:
    """The PromQL matchers of the soak release's frontend."""
    return (
        f"namespace='{RELEASE.namespace}',app_kubernetes_io_instance='{RELEASE.name}',"
        "app_kubernetes_io_component='frontend'"
    )


def wait_watched() -> None:
    """Wait until every pod is scraped and the chart's rules answer for the frontend.

    A new namespace's ServiceMonitor reaches Prometheus through the operator and a configuration
    reload (about 20 s here); requests before a pod's first scrape would be in no counter.
    """
    pods = sum(BOTH.values())
    up = f"count(up{{namespace='{RELEASE.namespace}'}} == 1)"
    recorded = f"{record_name('availability', 'ratio_rate5m')}{{{_frontend()}}}"
    poll(
        f"Prometheus scraping {pods} pods of {RELEASE.namespace}, rules recorded",
        lambda: (
            prometheus.value(up, time.time()) == pods
            and prometheus.value(recorded, time.time()) is not None
        ),
        timeout=scenarios.READY_TIMEOUT_SECONDS,
    )


def soak(bench: scenarios.Bench, minutes: float) -> dict[str, Any]:
    """Install the release at 2 replicas, load it for `minutes` while the faults run."""
    bench.log(f"soak: release {RELEASE.name} with 2 replicas of each component")
    release.helm_upgrade(bench.paths, RELEASE, bench.chart_ref, HA)
    bench.wait_settled(BOTH)
    bench.log("soak: waiting until Prometheus scrapes every pod and records the rules")
    wait_watched()
    services_before = scenarios.host_service_pids(bench.paths)
    seconds = minutes * 60
    bench.log(f"soak: {USERS} users for {minutes:g} min, faults every {seconds / 7:.0f} s")
    with scenarios.background_load(bench, "soak", users=USERS, think=THINK) as load:
        began = time.time()
        faults = run_faults(bench, began, seconds)
        ended = time.time()
    results = summarize(load.samples, faults, began, ended)
    results["prometheus"] = from_prometheus(began, ended)
    results["minutes"] = minutes
    results["users"] = USERS
    results["think_seconds"] = THINK
    results["start"], results["end"] = began, ended
    # The database outage restarts PostgreSQL (a new pid); only the AI stand-in must be the same.
    after = scenarios.host_service_pids(bench.paths)
    results["ai_standin_restarted"] = after["ai-standin"] != services_before["ai-standin"]
    return results


def main(minutes: float) -> int:
    """Run the soak; print the report; write it (and, at the default length or longer, the
    docs). Exit status 1 when a request failed outside every fault's window."""
    paths = paths_from_env()
    if not scenarios.host_services_running(paths):
        print("error: PostgreSQL or the AI stand-in is not running: run `make up`")
        return 1
    machine = host.machine(paths)
    bench = scenarios.open_bench(paths, RELEASE, "soak")
    try:
        results = soak(bench, minutes)
    finally:
        release.uninstall(paths, RELEASE)
        bench.kube.close()
    command = "make soak" + ("" if minutes == DEFAULT_MINUTES else f" SOAK_MINUTES={minutes:g}")
    document = {"command": command, "machine": machine, "results": results}
    print()
    print(soak_report.text(document))
    report = bench.workdir.with_suffix(".json")
    host.save_json(report, document)
    plot = bench.workdir / "soak.png"
    if minutes >= DEFAULT_MINUTES:
        plot = REPO / "docs" / "soak.png"
        host.save_json(REPO / "docs" / "soak.json", document)
        soak_report.update_markdown(REPO / "docs" / "benchmarks.md", document)
    soak_report.plot(document, plot)
    print(f"\nsoak: report in {report}, plot {plot}")
    unexplained = next(f for f in results["faults"] if f["name"] == "steady state")["failed"]
    if unexplained:
        print(f"soak: FAILED: {unexplained} requests failed outside every fault's window")
        return 1
    return 0
