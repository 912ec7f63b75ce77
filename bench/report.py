#!/usr/bin/env python3
"""Generate docs/performance.md and docs/img/perf-*.png from bench/results.

Run by `make bench`. Every number on the page is read from the result files
(collector.json, wasm_boundary.json); whatever is absent or failed is shown as
"not measured". The output depends only on the inputs (no clock, sorted files).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
COLLECTORS = ["weft", "weft-native", "otelcol"]
SCENARIOS = ["passthrough", "passthrough-gzip", "passthrough-tls", "filter", "transform",
             "redact", "chain", "persistent", "persistent-fsync"]
SIGNALS = ["traces", "logs", "metrics"]
COLORS = {"weft": "#1f77b4", "weft-native": "#8fbfe0", "otelcol": "#e6862e"}
GREEN, RED, GREY = "#2e7d32", "#c62828", "#9e9e9e"
NM = "not measured"
LOST = "⚠"
TIME_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
UNITS = {"ratio": (1.0, "×", 2), "pct": (100.0, " %", 2), "mib": (1.0, " MiB", 1)}


# ---------------------------------------------------------------- data access

def load_json(path: Path):
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def dig(obj, *keys):
    for key in keys:
        if not isinstance(obj, dict) or obj.get(key) is None:
            return None
        obj = obj[key]
    return obj


def ok(run) -> bool:
    return run is not None and not run.get("error")


def index_runs(collector) -> dict:
    """(collector, scenario, signal) -> run; a later duplicate replaces an earlier one."""
    return {(r.get("collector"), r.get("scenario"), r.get("signal")): r
            for r in (collector or {}).get("runs", [])}


def ordered(values, known) -> list:
    values = {v for v in values if v is not None}
    return [v for v in known if v in values] + sorted(values - set(known))


def combos(runs, collectors=COLLECTORS) -> list[tuple[str, str]]:
    """(signal, scenario) pairs that have a run, in display order."""
    present = {(sig, scen) for (coll, scen, sig) in runs if coll in collectors}
    return [(sig, scen) for sig in ordered((s for s, _ in present), SIGNALS)
            for scen in ordered((c for s, c in present if s == sig), SCENARIOS)]


def signal_scenarios(runs) -> list[tuple[str, list[str]]]:
    pairs = combos(runs)
    return [(sig, [scen for s, scen in pairs if s == sig]) for sig in ordered((s for s, _ in pairs), SIGNALS)]


def idle_rss(runs, coll, scen, sig):
    run = runs.get((coll, scen, sig))
    return dig(run, "idle_rss_mib") if ok(run) else None


def max_val(runs, coll, scen, sig, field):
    run = runs.get((coll, scen, sig))
    return dig(run, "max", field) if ok(run) else None


def fixed_val(runs, coll, scen, sig, rate, field):
    run = runs.get((coll, scen, sig))
    if not ok(run):
        return None
    entry = next((e for e in run.get("fixed") or [] if e.get("rate") == rate), None)
    return dig(entry, field)


def lost_items(runs, coll, scen, sig) -> int:
    return max_val(runs, coll, scen, sig, "lost_items") or 0


def fixed_rates(collector, runs) -> list[int]:
    rates = set(dig(collector, "method", "fixed_rates") or [])
    for run in runs.values():
        rates.update(e["rate"] for e in run.get("fixed") or [] if e.get("rate") is not None)
    return sorted(rates)


def ratio(a, b):
    return a / b if a is not None and b else None


def bench_seconds(boundary, name):
    """real_time of a Google Benchmark entry in seconds (the median if repeated)."""
    entries = (boundary or {}).get("benchmarks", [])
    entry = next((b for b in entries if b.get("run_name") == name
                  and b.get("aggregate_name") == "median"), None)
    entry = entry or next((b for b in entries if b.get("name") == name), None)
    if entry is None or entry.get("real_time") is None:
        return None
    return entry["real_time"] * TIME_UNITS.get(entry.get("time_unit", "ns"), 1e-9)


# ----------------------------------------------------------------- formatting

def fmt(x, digits=2, suffix=""):
    return NM if x is None else f"{x:,.{digits}f}{suffix}"


def fmt_short(x):
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def fmt_value(v, kind):
    scale, suffix, digits = UNITS[kind]
    return NM if v is None else f"{v * scale:,.{digits}f}{suffix}"


def fmt_time(seconds):
    return f"{seconds * 1e6:,.2f} µs"


def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def loss_note(runs, colls, scen, sig) -> str:
    notes = [f"{c} lost {n:,} items" for c in colls if (n := lost_items(runs, c, scen, sig))]
    return f"{LOST} " + ", ".join(notes) if notes else ""


# -------------------------------------------------------------------- targets

@dataclass
class Part:
    label: str
    value: float | None
    note: str = ""
    counted: bool = True  # False: shown for information, not judged


@dataclass
class Target:
    number: int
    title: str
    kind: str  # key of UNITS
    limit: float
    higher_is_better: bool
    parts: list[Part]
    worst_only: bool = False  # targets table shows only the worst part

    @property
    def goal(self) -> str:
        return ("≥ " if self.higher_is_better else "≤ ") + fmt_value(self.limit, self.kind)

    def meets(self, v) -> bool:
        return v >= self.limit if self.higher_is_better else v <= self.limit

    def plotted(self) -> list[Part]:
        """Measured parts for the ratio plot; for idle RSS only the largest."""
        measured = [p for p in self.parts if p.value is not None]
        return [max(measured, key=lambda p: p.value)] if self.kind == "mib" and measured else measured

    def result(self) -> str:
        counted = [p for p in self.parts if p.counted]
        if any(p.value is not None and not self.meets(p.value) for p in counted):
            return "missed"
        if not counted or any(p.value is None for p in counted):
            return NM
        return "met"


def throughput_part(runs, label, scen, sig, base, counted=True) -> Part:
    value = ratio(max_val(runs, "weft", scen, sig, "items_per_s"),
                  max_val(runs, base, scen, sig, "items_per_s"))
    return Part(label, value, loss_note(runs, ["weft", base], scen, sig), counted)


def build_targets(runs, boundary) -> list[Target]:
    t1 = [throughput_part(runs, sig, "passthrough", sig, "otelcol") for sig in SIGNALS]
    t1.append(throughput_part(runs, "traces, gzip (info)", "passthrough-gzip", "traces", "otelcol",
                              counted=False))
    t2 = [throughput_part(runs, sig, "chain", sig, "otelcol") for sig in ("traces", "logs")]
    info = ("passthrough-gzip", "passthrough-tls", "persistent", "persistent-fsync")
    t3 = [Part(scen + (" (info)" if scen in info else ""),
               ratio(fixed_val(runs, "weft", scen, "traces", 10000, "cpu_s_per_million"),
                     fixed_val(runs, "otelcol", scen, "traces", 10000, "cpu_s_per_million")),
               counted=scen not in info)
          for scen in SCENARIOS]
    t9 = [throughput_part(runs, label, scen, "traces", "otelcol")
          for label, scen in (("fsync off", "persistent"), ("fsync on", "persistent-fsync"))]
    # What durability costs weft: its persistent queue against its memory queue.
    t9 += [Part(f"{label} vs weft's memory queue (info)",
                ratio(max_val(runs, "weft", scen, "traces", "items_per_s"),
                      max_val(runs, "weft", "passthrough", "traces", "items_per_s")),
                counted=False)
           for label, scen in (("fsync off", "persistent"), ("fsync on", "persistent-fsync"))]
    t10 = [throughput_part(runs, "traces", "passthrough-tls", "traces", "otelcol"),
           Part("TLS vs plaintext, weft (info)",
                ratio(max_val(runs, "weft", "passthrough-tls", "traces", "items_per_s"),
                      max_val(runs, "weft", "passthrough", "traces", "items_per_s")),
                counted=False),
           Part("TLS vs plaintext, Go collector (info)",
                ratio(max_val(runs, "otelcol", "passthrough-tls", "traces", "items_per_s"),
                      max_val(runs, "otelcol", "passthrough", "traces", "items_per_s")),
                counted=False)]
    t4 = [Part(f"{scen}/{sig}", idle_rss(runs, "weft", scen, sig))
          for sig, scen in combos(runs, ["weft"])] or [Part("weft", None)]
    t5 = [Part(f"{scen}/{sig}", ratio(max_val(runs, "weft", scen, sig, "rss_peak_mib"),
                                      max_val(runs, "otelcol", scen, sig, "rss_peak_mib")),
               loss_note(runs, ["weft", "otelcol"], scen, sig))
          for sig, scen in combos(runs, ["weft", "otelcol"])] or [Part("weft/otelcol", None)]
    t6 = [throughput_part(runs, f"{scen}/{sig}" + (" (info)" if scen == "chain" else ""),
                          scen, sig, "weft-native", counted=scen != "chain")
          for scen in ("filter", "transform", "redact", "chain") for sig in ("traces", "logs")]
    # The same plugins per 512-item batch, without the rest of the pipeline (informational).
    t6 += [Part(f"{plugin}/{sig} per batch (info)",
                ratio(bench_seconds(boundary, f"BM_PluginBatch/{plugin}/{sig}/native"),
                      bench_seconds(boundary, f"BM_PluginBatch/{plugin}/{sig}/wasm")),
                counted=False)
           for plugin in ("filter", "transform", "redact") for sig in ("traces", "logs")]

    call = bench_seconds(boundary, "BM_EmptyPluginBatch/512")
    cpu = fixed_val(runs, "weft", "filter", "traces", 100000, "cpu_s_per_million")
    per_batch = cpu * 512 / 1e6 if cpu is not None else None
    note7 = (f"{fmt_time(call)} per call / {fmt_time(per_batch)} pipeline CPU per 512 items"
             if call is not None and per_batch else "")
    with_epoch = bench_seconds(boundary, "BM_LoopWithEpochDeadline")
    without = bench_seconds(boundary, "BM_LoopWithoutEpoch")
    epoch = with_epoch / without - 1 if with_epoch is not None and without else None
    note8 = f"{fmt_time(with_epoch)} vs {fmt_time(without)}" if epoch is not None else ""

    return [
        Target(1, "Passthrough throughput vs the Go collector", "ratio", 2.0, True, t1),
        Target(2, "Chain throughput vs the Go collector", "ratio", 3.0, True, t2),
        Target(3, "CPU per million spans at 10k spans/s vs the Go collector (traces)",
               "ratio", 0.4, False, t3),
        Target(4, "Idle RSS of weft (largest over all runs)", "mib", 25.0, False, t4, True),
        Target(5, "Peak RSS under load vs the Go collector", "ratio", 0.5, False, t5, True),
        Target(6, "Wasm plugin throughput vs its native build", "ratio", 0.85, True, t6),
        Target(7, "Wasm boundary share of pipeline CPU (512-item batches, filter traces "
               "at 100k/s)", "pct", 0.02, False, [Part("", ratio(call, per_batch), note7)]),
        Target(8, "Epoch deadline overhead", "pct", 0.05, False, [Part("", epoch, note8)]),
        Target(9, "Persistent queue (file_storage) throughput vs the Go collector's, traces",
               "ratio", 2.0, True, t9),
        Target(10, "TLS passthrough throughput vs the Go collector over TLS", "ratio", 2.0, True,
               t10),
    ]


def measured_cell(t: Target) -> str:
    def one(p: Part) -> str:
        text = (f"{p.label}: " if p.label else "") + fmt_value(p.value, t.kind)
        return text + (f" ({p.note})" if p.note else "")

    if not t.worst_only:
        return "<br>".join(one(p) for p in t.parts)
    measured = [p for p in t.parts if p.value is not None]
    if not measured:
        return NM
    worst = (min if t.higher_is_better else max)(measured, key=lambda p: p.value)
    text = ("largest: " if t.kind == "mib" else "worst: ") + one(worst)
    missing = len(t.parts) - len(measured)
    return text + (f"<br>{missing} of {len(t.parts)} {NM}" if missing else "")


# ---------------------------------------------------------------------- plots

@dataclass
class Panel:
    title: str
    groups: list[str]
    series: dict  # collector -> per group: (value or None, lost) or None where no run is expected
    ylabel: str
    fmt: Callable[[float], str]
    hline: float | None = None  # weft target, drawn dashed

    def span(self) -> int:
        """Grid columns the panel takes in its figure row."""
        return max(len(self.groups), 2)

    def has_data(self) -> bool:
        return any(v and v[0] is not None for vals in self.series.values() for v in vals)


def save(fig, path: Path) -> None:
    fig.savefig(path, dpi=110, metadata={"Software": None})  # no version or date in the PNG
    plt.close(fig)


def draw_grouped(ax, p: Panel) -> None:
    width = 0.8 / len(p.series)
    for i, (coll, vals) in enumerate(p.series.items()):
        for g, v in enumerate(vals):
            x = g + (i - (len(p.series) - 1) / 2) * width
            if v is not None and v[0] is None:
                ax.text(x, 0, NM, rotation=90, ha="center", va="bottom", fontsize=6, color="grey")
            elif v is not None:
                bar = ax.bar(x, v[0], width, color=COLORS[coll], hatch="///" if v[1] else None,
                             edgecolor="black" if v[1] else COLORS[coll], linewidth=0.5)
                ax.bar_label(bar, labels=[p.fmt(v[0])], fontsize=7, rotation=90, padding=2)
    if p.hline is not None:
        ax.axhline(p.hline, color="black", linestyle="--", linewidth=0.8, zorder=0.5)
    ax.set_xticks(range(len(p.groups)), p.groups, fontsize=8)
    ax.set_xlim(-0.6, len(p.groups) - 0.4)
    ax.margins(y=0.3)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: p.fmt(v)))
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(p.title, fontsize=10)
    ax.set_ylabel(p.ylabel, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def draw_panels(rows: list[list[Panel]], path: Path, target_label: str = "") -> bool:
    """One figure; each row holds panels whose width follows their group count."""
    rows = [r for r in ([p for p in row if p.has_data()] for row in rows) if r]
    if not rows:
        return False
    ncols = max(sum(p.span() for p in row) for row in rows)
    fig = plt.figure(figsize=(max(6.5, 0.9 * ncols + 1.5), 3.0 * len(rows) + 0.6), layout="constrained")
    grid = fig.add_gridspec(len(rows), ncols)
    for r, row in enumerate(rows):
        col = 0
        for p in row:
            draw_grouped(fig.add_subplot(grid[r, col:col + p.span()]), p)
            col += p.span()
    handles = [Patch(color=COLORS[c], label=c) for c in COLLECTORS]
    panels = [p for row in rows for p in row]
    if any(v and v[1] for p in panels for vals in p.series.values() for v in vals):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label="items lost"))
    if any(p.hline is not None for p in panels):
        handles.append(Line2D([], [], color="black", linestyle="--", label=target_label))
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles), frameon=False)
    save(fig, path)
    return True


def expected(runs, coll, scen, sig) -> bool:
    """weft-native has no passthrough run: leave that bar out instead of marking it."""
    return not (coll == "weft-native" and scen.startswith("passthrough")) or (coll, scen, sig) in runs


def plot_throughput(runs, path) -> bool:
    rows = []
    for sig, scens in signal_scenarios(runs):
        data = {c: [(max_val(runs, c, s, sig, "items_per_s"), lost_items(runs, c, s, sig) > 0)
                    if expected(runs, c, s, sig) else None for s in scens] for c in COLLECTORS}
        rows.append([Panel(f"Maximum throughput, {sig}", scens, data, "items/s", fmt_short)])
    return draw_panels(rows, path)


def plot_cpu(runs, rates, path) -> bool:
    rows = []
    for sig, scens in signal_scenarios(runs):
        row = []
        for rate in rates:
            data = {c: [(fixed_val(runs, c, s, sig, rate, "cpu_s_per_million"),
                         (fixed_val(runs, c, s, sig, rate, "lost_items") or 0) > 0)
                        if expected(runs, c, s, sig) else None for s in scens] for c in COLLECTORS}
            row.append(Panel(f"{sig} at {rate:,} items/s", scens, data, "CPU s per million items",
                             lambda v: f"{v:.3g}"))
        rows.append(row)
    return draw_panels(rows, path)


def plot_rss(runs, path) -> bool:
    rows = []
    for sig, scens in signal_scenarios(runs):
        idle = {c: [(idle_rss(runs, c, s, sig), False) if expected(runs, c, s, sig) else None
                    for s in scens] for c in COLLECTORS}
        peak = {c: [(max_val(runs, c, s, sig, "rss_peak_mib"), lost_items(runs, c, s, sig) > 0)
                    if expected(runs, c, s, sig) else None for s in scens] for c in COLLECTORS}
        rows.append([Panel(f"Idle RSS, {sig}", scens, idle, "MiB", lambda v: f"{v:.3g}", hline=25.0),
                     Panel(f"Peak RSS at max throughput, {sig}", scens, peak, "MiB", lambda v: f"{v:.3g}")])
    return draw_panels(rows, path, target_label="weft idle target ≤ 25 MiB")


def plot_ratios(targets: list[Target], path: Path) -> bool:
    panels = [(t, t.plotted()) for t in targets if t.plotted()]
    if not panels:
        return False
    heights = [len(parts) + 1.2 for _, parts in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 0.3 * sum(heights) + 0.45 * len(panels) + 0.6),
                             gridspec_kw={"height_ratios": heights}, layout="constrained", squeeze=False)
    for ax, (t, parts) in zip(axes[:, 0], panels):
        scale, limit = UNITS[t.kind][0], t.limit * UNITS[t.kind][0]
        values = [p.value * scale for p in parts]
        colors = [GREY if not p.counted else GREEN if t.meets(p.value) else RED for p in parts]
        bars = ax.barh(range(len(parts)), values, color=colors, height=0.6)
        ax.bar_label(bars, labels=[fmt_value(p.value, t.kind) for p in parts], padding=3, fontsize=8)
        ax.set_yticks(range(len(parts)), [(p.label or "measured") + (f" {LOST}" if p.note.startswith(LOST)
                                          else "") for p in parts], fontsize=8)
        ax.set_ylim(len(parts) - 0.5, -1.3)  # top to bottom, with room for the target label
        ax.axvline(limit, color="black", linestyle="--", linewidth=1.2)
        ax.text(limit, -0.85, f" target {t.goal}", fontsize=8, va="center", fontweight="bold")
        ax.set_xlim(min(0.0, *values) * 1.3, max(limit, *values) * 1.35)
        better = "higher is better" if t.higher_is_better else "lower is better"
        ax.set_title(f"{t.number}. {t.title} ({better})", fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    handles = [Patch(color=GREEN, label="meets target"), Patch(color=RED, label="misses target"),
               Patch(color=GREY, label="information only")]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False,
               title=f"{LOST} = items were lost in one of the compared max-throughput runs")
    save(fig, path)
    return True


# ------------------------------------------------------------------- sections

MACHINE_LABELS = {"cpu_model": "CPU", "cpus": "CPUs", "memory_gib": "Memory (GiB)", "kernel": "Kernel",
                  "os": "OS", "weft_version": "Weft", "otelcol_version": "OpenTelemetry Collector (contrib)",
                  "go_version": "Go", "compiler": "Compiler"}


def section_header(collector, boundary) -> list[str]:
    lines = ["# Performance", "",
             "> Generated by `make bench` (`bench/report.py`) from `bench/results/` — "
             "do not edit by hand.", ""]
    if collector is None:
        lines += [f"Collector benchmarks: {NM} (`bench/results/collector.json` not found).", ""]
    else:
        lines += [f"Collector benchmark results generated at {collector.get('generated_at', NM)}.", ""]
    if boundary is not None:
        lines += [f"Wasm boundary micro-benchmarks run at {dig(boundary, 'context', 'date') or NM}.", ""]
    if collector is None:
        return lines
    machine = collector.get("machine") or {}
    labels = MACHINE_LABELS | {k: k for k in sorted(machine) if k not in MACHINE_LABELS}
    lines += ["## Machine", ""]
    lines += [f"- {label}: {machine.get(k, 'not recorded')}" for k, label in labels.items()]
    method = collector.get("method") or {}

    def get(*keys):
        return "not recorded" if dig(method, *keys) is None else dig(method, *keys)

    rates = ", ".join(f"{r:,}" for r in method.get("fixed_rates") or []) or "not recorded"
    return lines + [
        "", "## Method", "",
        "- Collectors: `weft` runs the example plugins as WebAssembly; `weft-native` runs the same plugin "
        "C code compiled natively into weft (the baseline for the Wasm ratio; it has no passthrough run, "
        "so its passthrough cells read not measured); `otelcol` is the Go OpenTelemetry Collector "
        "(contrib) with equivalent OTTL.",
        f"- Each request carries {get('items_per_request')} items.",
        f"- Maximum throughput: measured over {get('max_seconds')} s per run.",
        f"- Fixed rates: {rates} items/s, each held for {get('fixed_seconds')} s.",
        f"- CPU pinning: collector on CPUs {get('collector_cpus')}, "
        f"load generator on CPUs {get('load_cpus')}.",
        f"- Batch processor: send_batch_size {get('batch', 'send_batch_size')}, "
        f"timeout {get('batch', 'timeout')}.",
        f"- Notes: {get('notes')}", ""]


def section_targets(targets, runs) -> list[str]:
    rows = [[f"{t.number}. {t.title} {t.goal}", measured_cell(t), t.result()] for t in targets]
    lines = ["## Targets", "", f"Ratios compare runs of the same benchmark; {LOST} marks a max-throughput "
             "run that lost items (its rate is not a nothing-dropped figure). Failed or missing runs "
             "count as not measured.", ""] + table(["target", "measured", "result"], rows)
    failed = [(k, r["error"]) for k, r in sorted(runs.items(), key=lambda kv: str(kv[0])) if r.get("error")]
    if failed:
        lines += ["Runs that failed:", ""]
        lines += [f"- {c} {scen} {sig}: {cell(err)}" for (c, scen, sig), err in failed] + [""]
    return lines


def image(alt, link) -> list[str]:
    return [f"![{alt}]({link})", ""] if link else []


def section_throughput(runs, img_link) -> list[str]:
    lines = ["## Throughput", ""]
    if not runs:
        return lines + [f"{NM.capitalize()}.", ""]
    lines += ["Maximum sustained rate per run; the ratios compare weft (Wasm) with the other collector "
              f"in the same scenario and signal. {LOST} = items were lost.", ""]
    for sig, scens in signal_scenarios(runs):
        rows = []
        for scen in scens:
            for coll in COLLECTORS:
                run = runs.get((coll, scen, sig))
                if run is None and coll == "weft-native" and scen.startswith("passthrough"):
                    continue
                rate = max_val(runs, coll, scen, sig, "items_per_s")
                flag = f" {LOST}" if lost_items(runs, coll, scen, sig) else ""
                ratios = [fmt_value(ratio(rate, max_val(runs, base, scen, sig, "items_per_s")), "ratio")
                          if coll == "weft" else "" for base in ("otelcol", "weft-native")]
                m = {k: fmt(max_val(runs, coll, scen, sig, k), 0) for k in
                     ("items_per_s", "received_items", "expected_items", "lost_items")}
                rows.append([scen, coll, "failed" if run and not ok(run) else m["items_per_s"] + flag,
                             f"{m['received_items']} / {m['expected_items']}", m["lost_items"],
                             fmt(max_val(runs, coll, scen, sig, "cpu_utilization"))] + ratios)
        lines += [f"### {sig}", ""] + table(["scenario", "collector", "items/s", "received / expected",
                                             "lost items", "CPU utilization", "weft / otelcol",
                                             "weft / weft-native"], rows)
    return lines + image("Maximum throughput", img_link)


def per_rate_tables(runs, rates, header, render) -> list[str]:
    """One table per fixed rate; render(sig, scen, rate) gives the cells after signal and scenario."""
    lines = []
    for rate in rates:
        rows = [[sig, scen] + render(sig, scen, rate) for sig, scen in combos(runs)]
        lines += [f"### {rate:,} items/s", ""] + table(["signal", "scenario"] + header, rows)
    return lines


def section_cpu(runs, rates, img_link) -> list[str]:
    lines = ["## CPU per million items at fixed rates", ""]
    if not runs or not rates:
        return lines + [f"{NM.capitalize()}.", ""]

    def render(sig, scen, rate):
        cpu = {c: fixed_val(runs, c, scen, sig, rate, "cpu_s_per_million") for c in COLLECTORS}
        cells = []
        for c in COLLECTORS:
            got = fixed_val(runs, c, scen, sig, rate, "achieved_rate")
            lost = fixed_val(runs, c, scen, sig, rate, "lost_items") or 0
            cells.append(NM if cpu[c] is None else f"{cpu[c]:,.2f} s ({fmt(got, 0)}/s)"
                         + (f" {LOST} lost {lost:,}" if lost else ""))
        return cells + [fmt_value(ratio(cpu["weft"], cpu[b]), "ratio") for b in ("otelcol", "weft-native")]

    lines += ["CPU seconds the collector used per million items, with the rate it actually achieved in "
              f"parentheses (items/s). {LOST} = items were lost at that rate.", ""]
    lines += per_rate_tables(runs, rates, COLLECTORS + ["weft / otelcol", "weft / weft-native"], render)
    return lines + image("CPU per million items", img_link)


def section_memory(runs, img_link) -> list[str]:
    lines = ["## Memory", ""]
    if not runs:
        return lines + [f"{NM.capitalize()}.", ""]
    rows = []
    for sig, scen in combos(runs):
        peak = {c: max_val(runs, c, scen, sig, "rss_peak_mib") for c in COLLECTORS}
        r = ratio(peak["weft"], peak["otelcol"])
        rows.append([sig, scen] + [fmt(idle_rss(runs, c, scen, sig), 1) for c in COLLECTORS]
                    + [fmt(peak[c], 1) + (f" {LOST}" if lost_items(runs, c, scen, sig) else "")
                       for c in COLLECTORS]
                    + [fmt_value(r, "ratio"), NM if r is None else "met" if r <= 0.5 else "missed"])
    lines += ["Resident set size in MiB: idle (before load) and peak during the max-throughput run. "
              "The last two columns are target 5 (weft peak ≤ 0.5× otelcol peak) for every pair.", ""]
    lines += table(["signal", "scenario"] + [f"idle {c}" for c in COLLECTORS]
                   + [f"peak {c}" for c in COLLECTORS] + ["peak weft / otelcol", "≤ 0.5×"], rows)
    # The max-throughput runs give weft four times the load of otelcol; at a fixed rate both
    # carry the same.
    rates = sorted({f.get("rate") for r in runs.values() for f in r.get("fixed") or []
                    if f.get("rate")})
    if rates:
        rows = []
        for sig, scen in combos(runs):
            cells = []
            for rate in rates:
                peak = [fixed_val(runs, c, scen, sig, rate, "rss_peak_mib") for c in COLLECTORS]
                r = ratio(peak[0], peak[COLLECTORS.index("otelcol")])
                cells.append(" / ".join(fmt(v, 1) for v in peak) + f" ({fmt_value(r, 'ratio')})")
            rows.append([sig, scen] + cells)
        lines += ["Peak RSS in MiB at the same load: each fixed rate, " + " / ".join(COLLECTORS)
                  + " (weft / otelcol).", ""]
        lines += table(["signal", "scenario"] + [f"{r:,} items/s" for r in rates], rows)
    return lines + image("Memory", img_link)


def section_latency(runs, rates) -> list[str]:
    lines = ["## Latency", ""]
    if not runs or not rates:
        return lines + [f"{NM.capitalize()}.", ""]

    def render(sig, scen, rate):
        p50 = [fixed_val(runs, c, scen, sig, rate, "p50_ms") for c in COLLECTORS]
        p99 = [fixed_val(runs, c, scen, sig, rate, "p99_ms") for c in COLLECTORS]
        return [NM if a is None and b is None else f"{fmt(a)} / {fmt(b)}" for a, b in zip(p50, p99)]

    lines += ["End-to-end latency in milliseconds (p50 / p99) at each fixed rate.", ""]
    return lines + per_rate_tables(runs, rates, [f"{c} p50 / p99" for c in COLLECTORS], render)


def section_ratios(img_link) -> list[str]:
    if not img_link:
        return ["## Ratios against targets", "", f"{NM.capitalize()}.", ""]
    return ["## Ratios against targets", "", "Each measured figure against its target (dashed line). "
            "Throughput ratios: higher is better; CPU, RSS, boundary share and epoch overhead: lower is "
            "better.", ""] + image("Ratios against targets", img_link)


# What each micro-benchmark in bench/wasm_boundary_bench.cc measures.
BOUNDARY_WHAT = {
    "BM_VerifyPackage": "what a plugin package adds to loading its module from a file: the "
                        "cache's blobs read with their digests checked, and the Ed25519 "
                        "signature verified (redact, ~300 KiB)",
    "BM_CopyBatch/512": "one memcpy of a 512-span request: the floor of any hand-over",
    "BM_SchemaCheck/512": "the OTLP schema check every received request and plugin replacement "
                          "gets (wire types, UTF-8, id lengths, item count)",
    "BM_ProtobufDecode/512": "decoding the same request with protobuf, for scale: what the "
                             "schema check spares",
    "BM_EmptyPluginBatch/512": "Plugin::process with a plugin that returns at once: pool "
                               "checkout, weft_alloc, copy into guest memory, call, result",
    "BM_InstantiateCompiledModule": "a new instance of a compiled module (pooling allocator)",
    "BM_LoopWithEpochDeadline": "a compute loop in Wasm with epoch interruption",
    "BM_LoopWithoutEpoch": "the same loop in an engine without epoch interruption",
    "BM_PluginBatch": "one benchmark request (512 items) through the example plugin's "
                      "processor, built as Wasm or natively; items/s is the plugin's rate",
    "BM_HttpRequest/0": "the http_request host call through a wasm exporter: one batch, one "
                        "empty POST to a loopback server and its answer (the round trip)",
    "BM_HttpRequest/1048576": "the same with a 1 MiB body: copied out of the plugin's memory "
                              "and written to the connection",
}


def boundary_what(name: str) -> str:
    name = name.removesuffix("/real_time")
    return BOUNDARY_WHAT.get(name) or BOUNDARY_WHAT.get(name.split("/")[0], "")


def section_packages(packages) -> list[str]:
    """bench/packages.py: start-up with ten oci:// plugins from the cache against files."""
    lines = ["## Plugin packages: start-up from the package cache", ""]
    if packages is None:
        return lines + [f"{NM} (`bench/results/packages.json` not found: `bench/packages.py`).", ""]
    med = packages.get("median_seconds") or {}
    ratio = packages.get("ratio_oci_to_files")
    lines += [f"`bench/packages.py`, generated {packages.get('generated_at', '?')}: weft started "
              f"with {packages.get('plugins')} `wasm` processors, time from exec to the health "
              f"check answering, median of {packages.get('runs')} alternating starts each. The "
              "packages come from `oci://` references satisfied by the lock and the local cache "
              "(each start checks every blob's digest and the Ed25519 signature; the registry is "
              "stopped); the files are the same module. Target: within 1.2x.", ""]
    rows = [["plugins from files", fmt(med.get("files", 0) * 1000, 1, " ms"), "1.00x"],
            ["plugins from `oci://` (cache, lock)", fmt(med.get("oci", 0) * 1000, 1, " ms"),
             NM if ratio is None else f"{ratio:.2f}x"]]
    return lines + table(["start-up", "median", "ratio"], rows) + [
        "The cost of one package check alone is `BM_VerifyPackage` below.", ""]


def section_boundary(boundary) -> list[str]:
    lines = ["## Wasm boundary micro-benchmarks", ""]
    if boundary is None:
        return lines + [f"{NM} (`bench/results/wasm_boundary.json` not found).", ""]
    ctx = boundary.get("context") or {}
    lines += [f"Google Benchmark (`{ctx.get('executable', '?')}`) on {ctx.get('host_name', '?')}: "
              f"{ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, CPU scaling "
              f"{'enabled' if ctx.get('cpu_scaling_enabled') else 'disabled'}, benchmark library "
              f"build type {ctx.get('library_build_type', '?')}.", ""]
    rows = []
    for b in boundary.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        unit = " " + b.get("time_unit", "ns").replace("us", "µs")
        counters = [f"{name} {fmt_short(b[k])}" for k, name in
                    (("items_per_second", "items/s"), ("bytes_per_second", "bytes/s")) if k in b]
        name = b.get("run_name") or b.get("name", "")
        rows.append([f"`{name}`" + (" (median)" if b.get("run_type") == "aggregate" else ""),
                     boundary_what(name),
                     fmt(b.get("real_time"), 1, unit), fmt(b.get("cpu_time"), 1, unit),
                     fmt(b.get("iterations"), 0), ", ".join(counters)])
    return lines + table(["benchmark", "what it measures", "real time", "CPU time", "iterations",
                          "counters"], rows)


SDK_LANGS = [("c", "C", "wasm"), ("cpp", "C++", "cpp"), ("go", "Go", "go"),
             ("rust", "Rust", "rust"), ("as", "AssemblyScript", "as")]


def section_sdks(boundary) -> list[str]:
    """The filter example built with each SDK: module size and time per batch against C."""
    lines = ["## Plugin SDKs: the filter example per language", ""]
    entries = {}
    for b in (boundary or {}).get("benchmarks", []):
        name = b.get("run_name") or b.get("name", "")
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        entries[name] = b
    c_time = bench_seconds(boundary, "BM_PluginBatch/filter/traces/wasm")
    rows = []
    for _, label, suffix in SDK_LANGS:
        name = f"BM_PluginBatch/filter/traces/{suffix}"
        t = bench_seconds(boundary, name)
        size = (entries.get(name) or {}).get("module_bytes")
        rows.append([label, NM if size is None else f"{size / 1024:,.1f} KiB",
                     fmt_time(t) if t is not None else NM,
                     fmt_value(ratio(t, c_time), "ratio")])
    lines += ["The same filter plugin (test/conformance checks that every build gives the same "
              "output) built with each SDK: module size after `wasm-opt` where the SDK's build "
              "uses it, and time per 512-span batch in `BM_PluginBatch` (lower is better; the "
              "last column is the time relative to the C build).", ""]
    return lines + table(["language", "module size", "time per batch", "time / C"], rows)


# The targets for the bundled plugin-backed components against the Go collector's.
EDGE_TARGETS = {"throughput": 1.5, "cpu": 0.6, "scrape": 0.5}


def section_edges(edges) -> list[str]:
    """bench/edges.py: the bundled plugin-backed components against the Go collector's."""
    lines = ["## Edges: bundled plugin-backed components", ""]
    if edges is None:
        return lines + [f"{NM} (`bench/results/edges.json` not found: `bench/edges.py`).", ""]
    m = edges.get("method") or {}
    lines += [f"`bench/edges.py`, generated {edges.get('generated_at', '?')}: each collector pinned "
              f"to CPU {m.get('collector_cpus', '?')}, the senders and sinks on CPU "
              f"{m.get('load_cpus', '?')}. Throughput: a closed loop of 4 senders for "
              f"{m.get('max_seconds', '?')} s; CPU per million items at "
              f"{fmt(m.get('fixed_rate'), 0)} items/s offered. Zipkin requests carry "
              f"{m.get('spans_per_zipkin_request', '?')} spans; the scrape target has "
              f"{fmt(m.get('series'), 0)} series, scraped every second for "
              f"{m.get('scrape_seconds', '?')} s. Items out of the remote-write and Zipkin "
              "exporters are counted by each collector's `otelcol_exporter_sent_*`.", ""]
    by = {(r.get("collector"), r.get("scenario")): r for r in edges.get("runs", [])}
    rows = []
    for scenario in ("zipkin-receiver", "prometheusremotewrite", "zipkin-exporter"):
        w, g = by.get(("weft", scenario)) or {}, by.get(("otelcol", scenario)) or {}
        wt, gt = dig(w, "max", "items_per_s"), dig(g, "max", "items_per_s")
        wc, gc = dig(w, "fixed", "cpu_s_per_million"), dig(g, "fixed", "cpu_s_per_million")
        tr, cr = ratio(wt, gt), ratio(wc, gc)
        verdict = NM if tr is None or cr is None else (
            "met" if tr >= EDGE_TARGETS["throughput"] and cr <= EDGE_TARGETS["cpu"] else "missed")
        if scenario == "zipkin-exporter":
            verdict = "no Go counterpart (contrib's zipkin exporter ended at v0.148.0)"
        rows.append([f"`{scenario}`", fmt(wt, 0), fmt(gt, 0), fmt_value(tr, "ratio"), fmt(wc, 2),
                     fmt(gc, 2), fmt_value(cr, "ratio"),
                     w.get("error") or g.get("error") or verdict])
    lines += table(["scenario", "weft items/s", "Go items/s", "throughput ratio (target ≥ 1.5×)",
                    "weft CPU s/M", "Go CPU s/M", "CPU ratio (target ≤ 0.6×)", "verdict"], rows)
    w, g = by.get(("weft", "prometheus-receiver")) or {}, by.get(("otelcol", "prometheus-receiver")) or {}
    wc, gc = dig(w, "scrape", "cpu_ms_per_scrape"), dig(g, "scrape", "cpu_ms_per_scrape")
    cr = ratio(wc, gc)
    verdict = NM if cr is None else ("met" if cr <= EDGE_TARGETS["scrape"] else "missed")
    lines += table(["scenario", "weft CPU ms/scrape", "Go CPU ms/scrape", "ratio (target ≤ 0.5×)",
                    "weft scrapes / points", "Go scrapes / points", "verdict"],
                   [["`prometheus-receiver`", fmt(wc, 2), fmt(gc, 2), fmt_value(cr, "ratio"),
                     f"{dig(w, 'scrape', 'scrapes')} / {fmt(dig(w, 'scrape', 'points'), 0)}",
                     f"{dig(g, 'scrape', 'scrapes')} / {fmt(dig(g, 'scrape', 'points'), 0)}",
                     w.get("error") or g.get("error") or verdict]])
    return lines


def section_profiles(profiles: list[Path], out_dir: Path) -> list[str]:
    lines = ["## Profiles", ""] if profiles else []
    for path in profiles:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
        link = quote(Path(os.path.relpath(path.resolve(), out_dir)).as_posix())
        fence = "`" * max([3] + [len(line) - len(line.lstrip("`")) + 1 for line in text])
        shown = f"first 25 of {len(text)} lines" if len(text) > 25 else f"all {len(text)} lines"
        lines += [f"### {path.stem}", "", f"[{path.name}]({link}) ({shown}):", "",
                  fence + "text"] + text[:25] + [fence, ""]
    return lines


def section_analysis(notes: str | None) -> list[str]:
    return [] if notes is None else ["## Analysis", "", notes.rstrip("\n"), ""]


# ----------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=REPO / "bench" / "results")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "performance.md")
    ap.add_argument("--img", type=Path, default=REPO / "docs" / "img")
    ap.add_argument("--notes", type=Path, default=REPO / "bench" / "notes.md")
    args = ap.parse_args()

    collector = load_json(args.results / "collector.json")
    boundary = load_json(args.results / "wasm_boundary.json")
    edges = load_json(args.results / "edges.json")
    packages = load_json(args.results / "packages.json")
    profiles = sorted((args.results / "profiles").glob("*.txt"))
    notes = args.notes.read_text(encoding="utf-8") if args.notes.is_file() else None
    runs = index_runs(collector)
    rates = fixed_rates(collector, runs)
    targets = build_targets(runs, boundary)

    out_dir = args.out.resolve().parent
    args.img.mkdir(parents=True, exist_ok=True)
    plots = {"throughput": lambda p: plot_throughput(runs, p), "cpu": lambda p: plot_cpu(runs, rates, p),
             "rss": lambda p: plot_rss(runs, p), "ratios": lambda p: plot_ratios(targets, p)}
    links = {}
    for name, draw in plots.items():
        path = args.img / f"perf-{name}.png"
        links[name] = Path(os.path.relpath(path.resolve(), out_dir)).as_posix() if draw(path) else None
        if links[name] is None and path.exists():
            path.unlink()  # a stale plot of an earlier run must not survive

    lines = (section_header(collector, boundary) + section_targets(targets, runs)
             + section_throughput(runs, links["throughput"]) + section_cpu(runs, rates, links["cpu"])
             + section_memory(runs, links["rss"]) + section_latency(runs, rates)
             + section_ratios(links["ratios"]) + section_edges(edges) + section_packages(packages)
             + section_boundary(boundary)
             + section_sdks(boundary)
             + section_profiles(profiles, out_dir) + section_analysis(notes))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    print(f"wrote {args.out} and {sum(1 for v in links.values() if v)} plots in {args.img}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
