"""One function per success criterion, each returning its figures as a plain dict.

All of them work on the benchmark's release (`bench.release`) and take the end user's path
for every request they time (`bench.netns`). Times are wall-clock seconds measured here.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcluster import deploy, supervisor
from localcluster.settings import Paths, node_named
from localcluster.shell import run
from todo_chatbot.workload import METRICS_PORT

from bench import netns, release, stats
from bench.kube import Kube, Pod, poll
from bench.load import TASK_CALLS

READY_TIMEOUT_SECONDS = 300
REPORTS = Path(__file__).resolve().parents[1] / "reports"


@dataclass
class Bench:
    """What every scenario needs: the cluster, the release, a folder for raw results."""

    paths: Paths
    kube: Kube
    release: release.Release
    chart_ref: str
    workdir: Path
    run_id: str
    events: list[str] = field(default_factory=list)

    def pods(self, component: str) -> list[Pod]:
        """Live (not terminating) pods of one component of the release."""
        return [p for p in self.kube.pods(self.release.namespace, component) if not p.deleting]

    def wait_settled(
        self, count: dict[str, int], *, timeout: float = READY_TIMEOUT_SECONDS
    ) -> float:
        """Wait until the release has exactly the wanted Ready pods and nothing terminating.

        `count`: the wanted pods by component. Returns the time.time() it became so.
        """

        def settled(pods: list[Pod]) -> bool:
            for component, wanted in count.items():
                mine = [p for p in pods if p.component == component]
                if len(mine) != wanted or not all(p.ready and not p.deleting for p in mine):
                    return False
            return True

        return self.kube.wait_pods(
            f"{count} Ready", settled, namespace=self.release.namespace, timeout=timeout
        )

    def log(self, message: str) -> None:
        """Print a progress line (to stderr-free stdout, flushed: `make` shows it live)."""
        line = f"[bench {time.strftime('%H:%M:%S')}] {message}"
        self.events.append(line)
        print(line, flush=True)


def open_bench(paths: Paths, rel: release.Release, kind: str) -> Bench:
    """A Bench on `rel` (its namespace and Secret made, the chart pushed) whose raw results go
    to a new reports/<kind>-<date>/; the run id names its users (`<kind><date>`)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    workdir = REPORTS / f"{kind}-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    return Bench(
        paths=paths,
        kube=Kube(paths),
        release=rel,
        chart_ref=release.prepare(paths, rel),
        workdir=workdir,
        run_id=f"{kind}{stamp}",
    )


# ---- SC-001 ------------------------------------------------------------------------------


def cold_deploy(bench: Bench) -> dict[str, Any]:
    """SC-001: `helm install` into a fresh namespace (images already on the node) to all Ready."""
    rel = bench.release
    bench.log(f"SC-001: removing namespace {rel.namespace} (if any), then a cold install")
    release.uninstall(bench.paths, rel)
    chart_ref = release.prepare(bench.paths, rel)
    ready_at: list[float] = []

    def watch() -> None:
        with contextlib.suppress(TimeoutError):
            ready_at.append(bench.wait_settled({"backend": 1, "frontend": 1}))

    watcher = threading.Thread(target=watch)
    began = time.time()
    watcher.start()
    helm_seconds = release.helm_upgrade(bench.paths, rel, chart_ref)
    watcher.join()
    return {
        "all_ready_seconds": round(ready_at[0] - began, 2) if ready_at else None,
        "helm_install_wait_seconds": round(helm_seconds, 2),
    }


# ---- SC-003 ------------------------------------------------------------------------------


def ctr(bench: Bench, pod: Pod, *args: str) -> None:
    """`ctr` against the containerd of the node `pod` runs on, in the Kubernetes namespace."""
    run(
        [
            "ctr",
            "--address",
            str(node_named(pod.node).containerd_socket(bench.paths)),
            "--namespace",
            "k8s.io",
            *args,
        ]
    )


def backend_killed(bench: Bench, *, how: str) -> dict[str, Any]:
    """SC-003: the backend's process is killed (`crash`) or hangs (`hang`); time to Ready again.

    `crash`: SIGKILL of the container's process; the kubelet sees the exit at once and restarts
    it. `hang`: SIGSTOP; the process stays but answers nothing, so only the liveness probe can
    tell, after `failureThreshold` x `periodSeconds`.
    """
    (pod,) = bench.pods("backend")
    signal_name = "SIGKILL" if how == "crash" else "SIGSTOP"
    bench.log(f"SC-003 ({how}): {signal_name} to {pod.name}")
    began = time.time()
    ctr(bench, pod, "task", "kill", "--signal", signal_name, pod.container_id)

    def failing(pods: list[Pod]) -> bool:
        return any(p.name == pod.name and (not p.ready or p.restarts > pod.restarts) for p in pods)

    def ready_again(pods: list[Pod]) -> bool:
        return any(p.name == pod.name and p.ready and p.restarts > pod.restarts for p in pods)

    namespace = bench.release.namespace
    detected = bench.kube.wait_pods("backend seen failing", failing, namespace=namespace)
    ready = bench.kube.wait_pods(
        "backend Ready again", ready_again, namespace=namespace, timeout=READY_TIMEOUT_SECONDS
    )
    return {
        "detected_seconds": round(detected - began, 2),
        "ready_again_seconds": round(ready - began, 2),
    }


# ---- load in the user's namespace --------------------------------------------------------


@dataclass
class LoadResult:
    """A finished load run: its samples and what the generator reported."""

    samples: list[stats.Sample] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def background_load(
    bench: Bench, name: str, *, users: int, think: str = "0.05,0.2"
) -> Iterator[LoadResult]:
    """Signed-in users acting in the user's namespace while the `with` body runs."""
    out = bench.workdir / f"{name}.json"
    ready = bench.workdir / f"{name}.ready"
    ready.unlink(missing_ok=True)
    process = netns.start(
        [
            "load",
            "--url",
            bench.release.url,
            "--levels",
            str(users),
            "--spawn-rate",
            "50",
            "--hold",
            "86400",
            "--think",
            think,
            "--email-prefix",
            f"{bench.run_id}-{name}",
            "--out",
            str(out),
            "--ready-file",
            str(ready),
        ],
        bench.workdir / f"{name}.log",
    )
    result = LoadResult()
    try:
        poll(f"{name}: users signed in", ready.exists, timeout=120)
        yield result
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    result.raw = json.loads(out.read_text())
    result.samples = stats.from_json(result.raw["samples"])


# ---- SC-004 ------------------------------------------------------------------------------


def _served_requests(bench: Bench, pod: str) -> float:
    """Task and chat requests a backend pod has answered, from its own /metrics."""
    status, text = bench.kube.pod_proxy_get(bench.release.namespace, pod, METRICS_PORT, "/metrics")
    if status != 200:
        return 0.0
    total = 0.0
    for line in text.splitlines():
        if line.startswith("http_requests_total{") and 'route="/api/' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def scale_up(bench: Bench) -> dict[str, Any]:
    """SC-004: backend 1 -> 2 replicas under user load; time until the new pod serves users.

    The frontend does not pass the backend's `X-Instance` on to the browser, so "serving" is
    read from the new pod itself: its request counter (`/metrics`, through the apiserver's pod
    proxy) counting a task or chat request sent by a user.
    """
    (first,) = bench.pods("backend")
    with background_load(bench, "sc004", users=10):
        bench.log("SC-004: scaling the backend 1 -> 2 under load")
        began = time.time()
        release.scale(bench.paths, bench.release, "backend", 2)

        def new_pods(pods: list[Pod]) -> list[Pod]:
            return [
                p
                for p in pods
                if p.component == "backend" and p.name != first.name and not p.deleting
            ]

        ready = bench.kube.wait_pods(
            "second backend Ready",
            lambda pods: any(p.ready for p in new_pods(pods)),
            namespace=bench.release.namespace,
        )
        (pod,) = new_pods(bench.kube.pods(bench.release.namespace, "backend"))
        serving = poll(
            "second backend serving", lambda: _served_requests(bench, pod.name) > 0, timeout=120
        )
    return {
        "ready_seconds": round(ready - began, 2),
        "serving_seconds": round(serving - began, 2),
    }


# ---- SC-005 ------------------------------------------------------------------------------


def page_load(bench: Bench, *, loads: int) -> dict[str, Any]:
    """SC-005: the task page in headless Chromium from the user's namespace, p50/p95."""
    bench.log(f"SC-005: {loads} page loads in headless Chromium")
    out = bench.workdir / "sc005.json"
    netns.run(
        [
            "pageload",
            "--url",
            bench.release.url,
            "--loads",
            str(loads),
            "--email",
            f"{bench.run_id}-pageload@bench.example",
            "--out",
            str(out),
        ],
        bench.workdir / "sc005.log",
        timeout=600,
    )
    data = json.loads(out.read_text())
    visible = data["visible_seconds"]
    load_event = data["load_event_seconds"]
    return {
        "loads": len(visible),
        "p50_seconds": round(stats.percentile(visible, 50) or 0, 3),
        "p95_seconds": round(stats.percentile(visible, 95) or 0, 3),
        "load_event_p95_seconds": round(stats.percentile(load_event, 95) or 0, 3),
    }


# ---- SC-007 ------------------------------------------------------------------------------


def _disrupted(
    bench: Bench,
    name: str,
    *,
    users: int,
    lead_seconds: float,
    settle: dict[str, int],
    action: Any,
) -> dict[str, Any]:
    """Load for `lead_seconds`, run `action`, wait until the release settles; count failures.

    The host's PostgreSQL and AI stand-in are shared with the e2e suite, which stops them to
    test outages; a scenario during which either was restarted is flagged, since its
    failures then say nothing about the chart.
    """
    services_before = host_service_pids(bench.paths)
    with background_load(bench, name, users=users) as load:
        time.sleep(lead_seconds)
        began = time.time()
        action()
        bench.wait_settled(settle)
        # Requests already on their way to a stopping pod finish within its grace period.
        time.sleep(5)
        ended = time.time()
    samples = load.samples
    failures = [s for s in samples if s[3] != "ok"]
    summary = stats.summarize(samples)["all"]
    return {
        "requests": len(samples),
        "failed": len(failures),
        "errors_by_kind": summary.errors_by_kind,
        "disruption_seconds": round(ended - began, 1),
        "p95_ms": summary.p95_ms,
        "host_services_restarted": host_service_pids(bench.paths) != services_before,
    }


def zero_downtime(bench: Bench, *, users: int, lead_seconds: float) -> dict[str, Any]:
    """SC-007: failed requests during a config-change upgrade, pod deletions and scale 2 -> 1."""
    rel = bench.release
    ha = {"backend": {"replicaCount": 2}, "frontend": {"replicaCount": 2}}
    bench.log("SC-007: two replicas of each component (no load yet)")
    release.helm_upgrade(bench.paths, rel, bench.chart_ref, ha)
    both = {"backend": 2, "frontend": 2}
    bench.wait_settled(both)
    results: dict[str, Any] = {}

    def upgrade() -> None:
        bench.log("SC-007: helm upgrade with a config change (config.logLevel=debug) under load")
        changed = deploy.merge_values(ha, {"config": {"logLevel": "debug"}})
        release.helm_upgrade(bench.paths, rel, bench.chart_ref, changed)

    results["helm upgrade (config change)"] = _disrupted(
        bench, "sc007-upgrade", users=users, lead_seconds=lead_seconds, settle=both, action=upgrade
    )
    for component in ("backend", "frontend"):

        def delete(component: str = component) -> None:
            victim = bench.pods(component)[0]
            bench.log(f"SC-007: deleting pod {victim.name} under load")
            bench.kube.delete_pod(rel.namespace, victim.name)

        results[f"{component} pod deleted"] = _disrupted(
            bench,
            f"sc007-delete-{component}",
            users=users,
            lead_seconds=lead_seconds,
            settle=both,
            action=delete,
        )

    def scale_down() -> None:
        bench.log("SC-007: scaling the backend 2 -> 1 under load")
        release.scale(bench.paths, rel, "backend", 1)

    results["backend scaled 2 -> 1"] = _disrupted(
        bench,
        "sc007-scale-down",
        users=users,
        lead_seconds=lead_seconds,
        settle={"backend": 1, "frontend": 2},
        action=scale_down,
    )
    total_requests = sum(r["requests"] for r in results.values())
    total_failed = sum(r["failed"] for r in results.values())
    return {"scenarios": results, "requests": total_requests, "failed": total_failed}


# ---- SC-008 ------------------------------------------------------------------------------


class MetricsSampler:
    """Samples `kubectl top` figures of the release's pods in the background (peak per pod)."""

    def __init__(self, bench: Bench, every_seconds: float = 10) -> None:
        """Prepare; `start` begins sampling."""
        self.bench = bench
        self.every = every_seconds
        self.peak: dict[str, tuple[float, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        """Begin sampling."""
        self._thread.start()

    def stop(self) -> dict[str, dict[str, float]]:
        """Stop; return the peak CPU (cores) and memory (MiB) seen per pod."""
        self._stop.set()
        self._thread.join()
        return {
            pod: {"cpu_cores": round(cpu, 3), "memory_mib": round(mem, 1)}
            for pod, (cpu, mem) in sorted(self.peak.items())
        }

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(Exception):
                for pod, (cpu, mem) in self.bench.kube.pod_metrics(
                    self.bench.release.namespace
                ).items():
                    old_cpu, old_mem = self.peak.get(pod, (0.0, 0.0))
                    self.peak[pod] = (max(cpu, old_cpu), max(mem, old_mem))


def restarts(bench: Bench) -> dict[str, int]:
    """Container restarts (and so OOM kills, crashes) per pod of the release."""
    return {p.name: p.restarts for p in bench.kube.pods(bench.release.namespace)}


def concurrent_users(
    bench: Bench,
    *,
    levels: list[int],
    hold: float,
    think: str,
    give_up_p95: float,
    frontend: str = "python",
) -> dict[str, Any]:
    """SC-008: every user signed in first, then users acting level by level (tasks, chat).

    Per-level latency and errors come from each level's hold, when only task, page and chat
    requests are sent; the sign-ins before the climb are summarized on their own. `frontend`
    (bench.load.FRONTENDS) is how the users sign up and in.
    """
    bench.log(f"SC-008: users in levels {levels}, {hold:.0f}s hold each (think {think}s)")
    out = bench.workdir / "sc008.json"
    sampler = MetricsSampler(bench)
    before = restarts(bench)
    sampler.start()
    try:
        netns.run(
            [
                "load",
                "--url",
                bench.release.url,
                "--frontend",
                frontend,
                "--levels",
                ",".join(str(n) for n in levels),
                "--spawn-rate",
                "20",
                # The frontend hashes two passwords at once at most (the rest queue there).
                "--sign-in-concurrency",
                "2",
                "--hold",
                str(hold),
                "--think",
                think,
                "--give-up-p95",
                str(give_up_p95),
                "--email-prefix",
                f"{bench.run_id}-sc008",
                "--out",
                str(out),
            ],
            bench.workdir / "sc008.log",
            timeout=7200,
        )
    finally:
        peak = sampler.stop()
    raw = json.loads(out.read_text())
    samples = stats.from_json(raw["samples"])
    after = restarts(bench)
    per_level = []
    for level in raw["levels"]:
        window = stats.summarize(samples, start=level["hold_start"], end=level["hold_end"])
        tasks = stats.KindSummary.of(
            "task calls",
            [
                s
                for s in stats.only(samples, TASK_CALLS)
                if level["hold_start"] <= s[1] < level["hold_end"]
            ],
        )
        per_level.append(
            {
                "users": level["users"],
                "spawned": level["spawned"],
                "ramp_seconds": round(level["hold_start"] - level["ramp_start"], 1),
                "hold_seconds": round(level["hold_end"] - level["hold_start"], 1),
                "requests_per_second": round(
                    stats.rate(samples, level["hold_start"], level["hold_end"]), 1
                ),
                "task_calls": _summary_dict(tasks),
                "by_kind": {k: _summary_dict(v) for k, v in window.items()},
            }
        )
    elapsed = raw["ended"] - raw["started"]
    sign_in = raw["sign_in"]
    return {
        "sign_ins": {
            "users": sign_in["users"],
            "seconds": round(sign_in["end"] - sign_in["start"], 1),
            **{
                kind: _summary_dict(stats.KindSummary.of(kind, stats.only(samples, (kind,))))
                for kind in ("sign-up", "sign-in")
            },
        },
        "levels": per_level,
        "stopped_because": raw["stopped_because"],
        "restarts": {pod: after.get(pod, 0) - before.get(pod, 0) for pod in after},
        "pods_peak": peak,
        "load_generator_cpu_share": round(raw["cpu_seconds"] / elapsed / 2, 3),
    }


def _summary_dict(summary: stats.KindSummary) -> dict[str, Any]:
    return {
        "count": summary.count,
        "errors": summary.errors,
        "p50_ms": summary.p50_ms,
        "p95_ms": summary.p95_ms,
        "p99_ms": summary.p99_ms,
        "errors_by_kind": summary.errors_by_kind,
    }


def sign_in_burst(bench: Bench, sizes: list[int]) -> dict[str, Any]:
    """Simultaneous sign-ups the frontend survives: bursts of growing size, restarts counted."""
    results = {}
    for size in sizes:
        bench.wait_settled({"backend": 1, "frontend": 1})
        bench.log(f"sign-in burst: {size} users signing up at the same moment")
        before = restarts(bench)
        out = bench.workdir / f"burst-{size}.json"
        netns.run(
            [
                "load",
                "--url",
                bench.release.url,
                "--levels",
                str(size),
                "--spawn-rate",
                "1000",
                "--sign-in-concurrency",
                "0",
                "--hold",
                "5",
                "--think",
                "1,2",
                "--email-prefix",
                f"{bench.run_id}-burst{size}",
                "--out",
                str(out),
            ],
            bench.workdir / f"burst-{size}.log",
            timeout=300,
        )
        samples = stats.only(stats.from_json(json.loads(out.read_text())["samples"]), ("sign-up",))
        frontend_restarts = sum(
            n - before.get(pod, 0) for pod, n in restarts(bench).items() if "frontend" in pod
        )
        failed = sum(s[3] != "ok" for s in samples)
        results[str(size)] = {"failed_sign_ups": failed, "frontend_restarts": frontend_restarts}
        if frontend_restarts:
            break
    survived = [int(k) for k, v in results.items() if not v["frontend_restarts"]]
    return {"bursts": results, "max_survived": max(survived, default=0)}


def pod_usage(bench: Bench) -> dict[str, dict[str, float]]:
    """CPU (cores) and memory (MiB) of each pod of the release now (`kubectl top`)."""
    return {
        pod: {"cpu_cores": round(cpu, 3), "memory_mib": round(mem, 1)}
        for pod, (cpu, mem) in sorted(bench.kube.pod_metrics(bench.release.namespace).items())
    }


def other_workloads(bench: Bench) -> list[str]:
    """Namespaces with running pods besides ours and the cluster's own (they share the CPU)."""
    namespaces = {item["metadata"]["namespace"] for item in bench.kube.running_pods()}
    return sorted(namespaces - {bench.release.namespace, "kube-system"})


def host_service_pids(paths: Paths) -> dict[str, int | None]:
    """The pids of PostgreSQL and the AI stand-in (None: stopped); a restart changes them."""
    return {name: supervisor.running_pid(paths, name) for name in ("postgres", "ai-standin")}


def host_services_running(paths: Paths) -> bool:
    """True when PostgreSQL and the AI stand-in run (the e2e suite may stop them for a while)."""
    return all(host_service_pids(paths).values())
