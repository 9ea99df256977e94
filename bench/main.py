"""The command line of the benchmark: `run` (make bench), `short` (make bench-short), `soak
[MINUTES]` (make soak), `frontends` (make bench-frontends), `nodes` (make bench-nodes, on a
cluster of three nodes).

`run`, `short` and `soak` work on the host against the running local cluster (`make up`);
`load` and `pageload` are what they start inside the user's network namespace.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from localcluster.settings import paths_from_env

from bench import frontends, host, load, nodes, pageload, release, report, scenarios, soak
from bench.kube import poll

REPO = Path(__file__).resolve().parents[1]
# The benchmark's release; its NodePort is far from the local cluster's (30080) and the e2e
# suite's, so all of them can run on the same cluster.
RELEASE = release.Release(name="bench", namespace="bench", node_port=30480)


def _idle_usage(bench: scenarios.Bench, seconds: float = 30) -> dict[str, Any]:
    """Pod usage after `seconds` without load (metrics-server needs a scrape of new pods)."""
    time.sleep(seconds)
    pods = {p.name for p in bench.kube.pods(bench.release.namespace)}
    poll(
        "metrics of every pod",
        lambda: pods <= set(bench.kube.pod_metrics(bench.release.namespace)),
        timeout=120,
    )
    return scenarios.pod_usage(bench)


def measure(bench: scenarios.Bench, *, short: bool) -> dict[str, Any]:
    """Run every scenario in order; each leaves the release in the state the next expects."""
    results: dict[str, Any] = {"mode": "short" if short else "full"}
    seen = set(scenarios.other_workloads(bench))
    if not short:
        bench.log("chart build: make synth, make chart")
        results["chart_build_seconds"] = host.chart_build_seconds()
    results["image_sizes_mib"] = host.image_sizes(bench.paths)
    results["sc001"] = scenarios.cold_deploy(bench)
    results["sc005"] = scenarios.page_load(bench, loads=5 if short else 40)
    results["sc003"] = {"crash": scenarios.backend_killed(bench, how="crash")}
    if not short:
        results["sc003"]["hang"] = scenarios.backend_killed(bench, how="hang")
    results["sc004"] = scenarios.scale_up(bench)
    results["sc007"] = scenarios.zero_downtime(
        bench, users=5 if short else 15, lead_seconds=0 if short else 40
    )
    bench.log("back to the chart's defaults (1 replica each) for SC-008")
    release.helm_upgrade(bench.paths, bench.release, bench.chart_ref)
    bench.wait_settled({"backend": 1, "frontend": 1})
    results["pods_at_rest"] = _idle_usage(bench, 5 if short else 30)
    results["cluster_memory_at_rest_mib"] = host.cluster_memory(bench.paths)
    seen |= set(scenarios.other_workloads(bench))
    if short:
        results["sc008"] = scenarios.concurrent_users(
            bench, levels=[20], hold=10, think="1,3", give_up_p95=5
        )
    else:
        results["sc008"] = scenarios.concurrent_users(
            bench, levels=[100, 200, 300, 500, 1000], hold=60, think="1,3", give_up_p95=5
        )
        results["sign_in_burst"] = scenarios.sign_in_burst(bench, [1, 2, 3, 4, 8])
    results["host_services_stayed_up"] = scenarios.host_services_running(bench.paths)
    # Other releases share the 2 cores: a figure measured next to them is pessimistic.
    results["other_workloads"] = sorted(seen | set(scenarios.other_workloads(bench)))
    return results


def run(*, short: bool) -> int:
    """Measure, print the table, save JSON (and, for the full run, the docs); exit status."""
    paths = paths_from_env()
    began = time.monotonic()
    bench = scenarios.open_bench(paths, RELEASE, "bench")
    if not scenarios.host_services_running(paths):
        print("error: PostgreSQL or the AI stand-in is not running: run `make up`", file=sys.stderr)
        return 1
    machine = host.machine(paths)
    try:
        results = measure(bench, short=short)
    finally:
        release.uninstall(paths, RELEASE)
        bench.kube.close()
    results["runtime_seconds"] = round(time.monotonic() - began)
    rows = report.figures(results)
    document = {
        "command": "make bench-short" if short else "make bench",
        "machine": machine,
        "figures": report.figures_json(rows),
        "results": results,
    }
    print()
    print(report.table(rows))
    print(f"\nbench: {results['runtime_seconds']} s; raw results in {bench.workdir}")
    host.save_json(bench.workdir.with_suffix(".json"), document)
    if not short:
        host.save_json(REPO / "docs" / "benchmarks.json", document)
        write_docs(document)
    failed = results["sc007"]["failed"]
    if failed:
        print(f"bench: FAILED: {failed} failed requests in the SC-007 scenarios (must be 0)")
        return 1
    return 0


def run_nodes() -> int:
    """The multi-node rows on a running cluster of three nodes; docs/benchmarks.md updated."""
    began = time.monotonic()
    bench = scenarios.open_bench(paths_from_env(), RELEASE, "bench-nodes")
    paths, kube = bench.paths, bench.kube
    machine = host.machine(paths)
    try:
        results = nodes.measure(bench)
    finally:
        release.uninstall(paths, RELEASE)
        kube.close()
    results["runtime_seconds"] = round(time.monotonic() - began)
    document = {"command": "make bench-nodes", "machine": machine, "results": results}
    host.save_json(REPO / "docs" / "benchmarks-nodes.json", document)
    section = nodes.section(results, machine)
    nodes.update_markdown(REPO / "docs" / "benchmarks.md", section)
    print(section)
    return 0


def write_docs(document: dict[str, Any]) -> None:
    """Draw docs/benchmarks.png and update the generated part of docs/benchmarks.md."""
    machine = document["machine"]
    title = (
        f"todo-chatbot SLO benchmark, {machine['date']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB"
    )
    rows = report.figures(document["results"])
    requests = document["results"]["sc007"]["requests"]
    report.plot(rows, requests, REPO / "docs" / "benchmarks.png", title)
    report.update_markdown(REPO / "docs" / "benchmarks.md", document)


def run_frontends(*, loads: int = 40, hold: float = 60) -> int:
    """SC-005 and SC-008 at 100 users for each frontend; the docs' side-by-side table."""
    paths = paths_from_env()
    if not scenarios.host_services_running(paths):
        print("error: PostgreSQL or the AI stand-in is not running: run `make up`", file=sys.stderr)
        return 1
    bench = scenarios.open_bench(paths, RELEASE, "bench-frontends")
    machine = host.machine(paths)
    results: dict[str, Any] = {"loads": loads, "hold_seconds": hold}
    try:
        for frontend in frontends.FRONTENDS:
            results[frontend] = frontends.measure(bench, frontend, loads=loads, hold=hold)
    finally:
        bench.kube.close()
    document = {"command": "make bench-frontends", "machine": machine, "results": results}
    host.save_json(REPO / "docs" / "benchmarks-frontends.json", document)
    frontends.write_docs(REPO / "docs" / "benchmarks.md", document)
    print(frontends.section(document))
    return 0


def main(argv: list[str]) -> int:
    """Dispatch to a subcommand."""
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "run":
        return run(short=False)
    if command == "short":
        return run(short=True)
    if command == "frontends":
        return run_frontends()
    if command == "nodes":
        return run_nodes()
    if command == "docs":
        # Re-renders the docs from the saved results (after a change of the report's layout).
        saved = REPO / "docs" / "benchmarks.json"
        document = json.loads(saved.read_text())
        document["figures"] = report.figures_json(report.figures(document["results"]))
        host.save_json(saved, document)
        write_docs(document)
        return 0
    if command == "soak":
        return soak.main(float(rest[0]) if rest else soak.DEFAULT_MINUTES)
    if command == "load":
        load.main(rest)
        return 0
    if command == "pageload":
        pageload.main(rest)
        return 0
    print(
        "usage: python -m bench run|short|soak [MINUTES]|frontends|nodes|load|pageload",
        file=sys.stderr,
    )
    return 2
