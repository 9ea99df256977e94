"""The benchmark's outputs: the figures table (stdout and Markdown), the JSON and the plot."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Latency bar of "without degradation" (spec, 100 users) and of the stretch (1,000 users).
TASK_P95_LIMIT_MS = 250.0
# SC-007's stretch: zero failed requests over at least this many.
STRETCH_REQUESTS = 10_000


@dataclass(frozen=True)
class Figure:
    """One measured figure with its targets; `lower_is_better` says which way targets point."""

    name: str
    value: float | None
    unit: str
    spec: float
    stretch: float | None  # None: no stretch target ("none set")
    lower_is_better: bool = True
    note: str = ""
    # Set when the stretch target is more than a bound on the value (SC-007's request count).
    stretch_override: bool | None = None

    def meets(self, target: float) -> bool | None:
        """Whether the value meets `target`; None when the figure could not be measured."""
        if self.value is None:
            return None
        return self.value <= target if self.lower_is_better else self.value >= target

    @property
    def spec_met(self) -> bool | None:
        """Whether the spec target is met."""
        return self.meets(self.spec)

    @property
    def stretch_met(self) -> bool | None:
        """Whether the stretch target is met."""
        if self.stretch is None:
            return None
        if self.stretch_override is not None:
            return self.stretch_override and bool(self.meets(self.stretch))
        return self.meets(self.stretch)


def level_ok(level: dict[str, Any]) -> bool:
    """A load level without degradation: no failed request, task-call p95 under the bar."""
    tasks = level["task_calls"]
    all_errors = level["by_kind"]["all"]["errors"]
    p95 = tasks["p95_ms"]
    return all_errors == 0 and p95 is not None and p95 < TASK_P95_LIMIT_MS


def figures(results: dict[str, Any]) -> list[Figure]:
    """The figures of issue 6 from a run's results."""
    sc007 = results["sc007"]
    sc008 = results["sc008"]
    levels = sc008["levels"]
    spec_level = next((lv for lv in levels if lv["users"] == 100), None)
    good = [lv["users"] for lv in levels if level_ok(lv)]
    restarted = sum(sc008["restarts"].values())
    helm_wait = results["sc001"]["helm_install_wait_seconds"]
    rows = [
        Figure(
            "SC-001 cold deploy: helm install to all Ready",
            results["sc001"]["all_ready_seconds"],
            "s",
            300,
            30,
            note=f"helm install --wait returned after {helm_wait} s",
        ),
        Figure(
            "SC-003 backend crash (SIGKILL): Ready again",
            results["sc003"]["crash"]["ready_again_seconds"],
            "s",
            30,
            10,
            note=f"exit seen after {results['sc003']['crash']['detected_seconds']} s",
        ),
    ]
    if "hang" in results["sc003"]:
        hang = results["sc003"]["hang"]
        rows.append(
            Figure(
                "SC-003 backend hang (SIGSTOP): Ready again",
                hang["ready_again_seconds"],
                "s",
                30,
                10,
                note=f"unready or restarted after {hang['detected_seconds']} s",
            )
        )
    rows += [
        Figure(
            "SC-004 backend 1 -> 2: second replica serving",
            results["sc004"]["serving_seconds"],
            "s",
            120,
            15,
            note=f"Ready after {results['sc004']['ready_seconds']} s",
        ),
        Figure(
            "SC-005 task page load, headless Chromium, p95",
            results["sc005"]["p95_seconds"],
            "s",
            3,
            0.3,
            note=f"p50 {results['sc005']['p50_seconds']} s over {results['sc005']['loads']} loads",
        ),
        Figure(
            "SC-007 failed requests (upgrade, deletions, scale 2 -> 1)",
            sc007["failed"],
            "failed",
            0,
            0,
            note=f"of {sc007['requests']} requests (stretch: 0 over >= 10,000)",
            stretch_override=sc007["requests"] >= STRETCH_REQUESTS,
        ),
        Figure(
            "SC-008 task-call p95 at 100 users",
            spec_level["task_calls"]["p95_ms"] if spec_level else None,
            "ms",
            TASK_P95_LIMIT_MS,
            TASK_P95_LIMIT_MS,
            note=(
                f"{spec_level['by_kind']['all']['errors']} failed of "
                f"{spec_level['by_kind']['all']['count']}"
                if spec_level
                else "level not reached"
            ),
        ),
        Figure(
            "SC-008 most users with p95 < 250 ms and 0 errors",
            float(max(good, default=0)),
            "users",
            100,
            1000,
            lower_is_better=False,
            note=(sc008["stopped_because"] or "all levels held")
            + (f"; {restarted} pod restarts" if restarted else ""),
        ),
    ]
    return rows


def _mark(met: bool | None) -> str:
    return "n/a" if met is None else "yes" if met else "NO"


def _value(figure: Figure) -> str:
    if figure.value is None:
        return "n/a"
    value = f"{figure.value:g}" if figure.unit != "s" else f"{figure.value:.2f}"
    return f"{value} {figure.unit}"


def table(rows: list[Figure]) -> str:
    """The figures as a Markdown table (readable on a terminal too)."""
    lines = [
        "| Figure | Measured | Spec | Met | Stretch | Met | Note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in rows:
        sign = "<=" if f.lower_is_better else ">="
        stretch = "none set" if f.stretch is None else f"{sign} {f.stretch:g}"
        lines.append(
            f"| {f.name} | {_value(f)} | {sign} {f.spec:g} | {_mark(f.spec_met)} "
            f"| {stretch} | {_mark(f.stretch_met)} | {f.note} |"
        )
    return "\n".join(lines)


def figures_json(rows: list[Figure]) -> list[dict[str, Any]]:
    """The figures as JSON-ready dicts, with whether each target is met."""
    return [{**asdict(f), "spec_met": f.spec_met, "stretch_met": f.stretch_met} for f in rows]


def plot(rows: list[Figure], sc007_requests: int, path: Path, title: str) -> None:
    """One panel per figure: the measured bar against the spec (red) and stretch (green) lines."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    fig, axes = pyplot.subplots(len(rows), 1, figsize=(9, 1.25 * len(rows) + 0.8))
    for ax, f in zip(axes, rows, strict=True):
        spec: float | None = f.spec
        stretch: float | None
        if f.unit == "failed":
            # Zero cannot sit on a log axis: draw the requests counted, against 10,000.
            value, spec, stretch = float(sc007_requests), None, float(STRETCH_REQUESTS)
            unit = f"requests, {f.value:g} failed" if f.value else "requests, 0 failed"
            good = not f.value
        else:
            value, unit, stretch = f.value or 0.0, f.unit, f.stretch
            good = bool(f.spec_met)
        ax.barh([0], [max(value, 1e-3)], color="#4c72b0" if good else "#c44e52", height=0.5)
        if spec is not None:
            ax.axvline(spec, color="#c44e52", linestyle="--", label="spec")
        if stretch is not None:
            ax.axvline(stretch, color="#55a868", linestyle=":", linewidth=2, label="stretch")
        ax.set_xscale("log")
        marks = [value] + [mark for mark in (spec, stretch) if mark is not None]
        ax.set_xlim(max(min(marks) / 3, 1e-3), max(marks) * 3)
        ax.set_yticks([])
        ax.set_title(f"{f.name}: {value:g} {unit}", fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    axes[0].legend(loc="upper right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot.close(fig)


def _kv_table(title: str, header: tuple[str, str], rows: dict[str, Any]) -> str:
    lines = [f"**{title}**", "", f"| {header[0]} | {header[1]} |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in rows.items()]
    return "\n".join(lines)


def _usage(pods: dict[str, dict[str, float]]) -> dict[str, str]:
    return {
        pod: f"{u['cpu_cores'] * 1000:.0f}m CPU, {u['memory_mib']:.0f} MiB"
        for pod, u in pods.items()
    }


def _others(results: dict[str, Any]) -> str:
    if "other_workloads" not in results:
        return "not recorded"
    return ", ".join(results["other_workloads"]) or "none"


def _sign_ins(sc008: dict[str, Any]) -> str:
    """What the sign-ins before the climb took (runs before 2026-12-02 signed in per level)."""
    if "sign_ins" not in sc008:
        return "Each level's users signed in during its ramp (a run before the sign-ins first)."
    sign_ins = sc008["sign_ins"]
    return (
        f"Before the climb, {sign_ins['users']} users signed up and in through the forms in "
        f"{sign_ins['seconds']} s (sign-up p95 {sign_ins['sign-up']['p95_ms']} ms, sign-in p95 "
        f"{sign_ins['sign-in']['p95_ms']} ms, {sign_ins['sign-up']['errors']} + "
        f"{sign_ins['sign-in']['errors']} failed, retried)."
    )


def details(document: dict[str, Any]) -> str:
    """The figures behind the table, as Markdown sections."""
    results = document["results"]
    machine = document["machine"]
    parts = [
        _kv_table(
            "Machine and versions",
            ("What", "Value"),
            {
                "date": machine["date"],
                "cores, memory": f"{machine['cores']} cores, {machine['memory_gib']} GiB",
                "CPU": machine["cpu"],
                "OS, kernel": f"{machine['os']}, {machine['kernel']}",
                "commit": machine["commit"],
                **machine["versions"],
                "runtime of the command": f"{results['runtime_seconds']} s",
                "other namespaces running pods during the run": _others(results),
            },
        )
    ]
    if "chart_build_seconds" in results:
        parts.append(
            _kv_table(
                "Chart build (`make synth`, then `make chart`)",
                ("Step", "Seconds"),
                results["chart_build_seconds"],
            )
        )
    parts.append(
        _kv_table(
            "Image archives (uncompressed layers)", ("Image", "MiB"), results["image_sizes_mib"]
        )
    )
    rows = {
        name: f"{r['failed']} failed of {r['requests']} ({r['disruption_seconds']} s until "
        f"settled, p95 {r['p95_ms']} ms){'; ' + str(r['errors_by_kind']) if r['failed'] else ''}"
        + (
            "; PostgreSQL or the AI stand-in was restarted meanwhile (not by the benchmark)"
            if r.get("host_services_restarted")
            else ""
        )
        for name, r in results["sc007"]["scenarios"].items()
    }
    parts.append(_kv_table("SC-007 under continuous load", ("Disruption", "Requests"), rows))
    sc008 = results["sc008"]
    level_lines = [
        "**SC-008 levels** (figures from each level's hold only: task, page and chat traffic)",
        "",
        "| Users | req/s | task p50 | task p95 | task p99 | chat p95 | page p95 | errors "
        "| degraded |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for lv in sc008["levels"]:
        kinds = lv["by_kind"]

        def p95(kind: str, kinds: dict[str, Any] = kinds) -> str:
            value = kinds.get(kind, {}).get("p95_ms")
            return "n/a" if value is None else f"{value:.0f} ms"

        tasks = lv["task_calls"]
        errors = kinds["all"]["errors"]
        errors_text = f"{errors} {kinds['all']['errors_by_kind']}" if errors else "0"
        level_lines.append(
            f"| {lv['spawned']} | {lv['requests_per_second']} | {tasks['p50_ms']} ms "
            f"| {tasks['p95_ms']} ms | {tasks['p99_ms']} ms | {p95('chat')} | {p95('page')} "
            f"| {errors_text} | {'no' if level_ok(lv) else 'yes'} |"
        )
    level_lines += ["", _sign_ins(sc008)]
    level_lines += [
        f"Climb ended: {sc008['stopped_because'] or 'every level held'}. Container restarts "
        f"during SC-008: {sum(sc008['restarts'].values())}. The load generator used "
        f"{sc008['load_generator_cpu_share'] * 100:.0f} % of the machine's CPU.",
    ]
    parts.append("\n".join(level_lines))
    at_rest = _usage(results["pods_at_rest"])
    parts.append(_kv_table("Pods at rest (metrics-server)", ("Pod", "Usage"), at_rest))
    parts.append(
        _kv_table(
            "Pods at their peak under SC-008 (10 s samples)",
            ("Pod", "Peak"),
            _usage(sc008["pods_peak"]),
        )
    )
    memory = results["cluster_memory_at_rest_mib"]
    parts.append(
        _kv_table(
            f"The cluster's host processes at rest: {sum(memory.values()):.0f} MiB RSS in all",
            ("Process (with children)", "RSS MiB"),
            memory,
        )
    )
    if "sign_in_burst" in results:
        burst = results["sign_in_burst"]
        parts.append(
            _kv_table(
                f"Simultaneous sign-ups the frontend survives: {burst['max_survived']}",
                ("Burst", "Result"),
                {
                    size: f"{r['failed_sign_ups']} failed sign-ups, "
                    f"{r['frontend_restarts']} frontend restarts"
                    for size, r in burst["bursts"].items()
                },
            )
        )
    return "\n\n".join(parts)


BEGIN = "<!-- bench:begin (generated by `make bench`; edit outside these markers) -->"
END = "<!-- bench:end -->"


def latest_section(document: dict[str, Any]) -> str:
    """The generated part of docs/benchmarks.md: command, table, plot, details, verdicts."""
    rows = [
        Figure(**{k: v for k, v in f.items() if k not in ("spec_met", "stretch_met")})
        for f in document["figures"]
    ]
    met = [f.name for f in rows if f.stretch_met]
    missed = [f.name for f in rows if f.stretch_met is False]
    spec_missed = [f.name for f in rows if f.spec_met is False]
    machine = document["machine"]
    return "\n\n".join(
        [
            BEGIN,
            f"## Latest run: {machine['date']}, {machine['cores']} cores, "
            f"{machine['memory_gib']} GiB",
            f"Command: `{document['command']}` (commit {machine['commit']}, "
            f"{document['results']['runtime_seconds']} s).",
            table(rows),
            "![The figures against their spec (red, dashed) and stretch (green, dotted) "
            "targets](benchmarks.png)",
            "Spec targets missed: " + ("; ".join(spec_missed) or "none") + ".\n\n"
            "Stretch targets met: " + ("; ".join(met) or "none") + ".\n\n"
            "Stretch targets missed: " + ("; ".join(missed) or "none") + ".",
            details(document),
            END,
        ]
    )


def update_markdown(path: Path, document: dict[str, Any]) -> None:
    """Replace the generated section of `path` (or append it) with this run's."""
    replace_section(path, BEGIN, END, latest_section(document))


def replace_section(path: Path, begin: str, end: str, section: str) -> None:
    """Replace what lies between the `begin` and `end` lines of `path`, or append `section`."""
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + section + tail
    else:
        text = text + ("\n" if text else "") + section + "\n"
    path.write_text(text)
