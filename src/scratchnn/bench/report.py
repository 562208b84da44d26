"""The suite's outputs: a text table, a Markdown table, a summary against the targets, a chart.

Ratios are scratchnn / native (lower is better; 1.00× is parity). Targets (issue 6, CPU,
forward+backward): geometric mean ≤ 1.25 over the conv, conv_transpose, linear and pooling
families, no case above 2.0, linear and bmm ≤ 1.05, peak memory ratio ≤ 1.5 for every case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .harness import TARGET_FAMILIES, Result

__all__ = ["Summary", "format_markdown", "format_table", "plot", "summary"]

GEOMEAN_TARGET, CASE_LIMIT, LINEAR_TARGET, MEMORY_TARGET = 1.25, 2.0, 1.05, 1.5


@dataclass
class Summary:
    geomean: float | None  # f+b time ratio over the target families
    worst: tuple[str, float] | None  # the case with the largest f+b ratio (target families)
    worst_memory: tuple[str, float] | None
    misses: list[str]  # one line per missed target

    def lines(self) -> list[str]:
        out = []
        if self.geomean is not None:
            out.append(
                f"geomean f+b time ratio ({', '.join(TARGET_FAMILIES)}): {self.geomean:.2f}× "
                f"(target ≤ {GEOMEAN_TARGET})"
            )
        if self.worst is not None:
            out.append(f"worst f+b time ratio: {self.worst[0]} {self.worst[1]:.2f}× (limit {CASE_LIMIT})")
        if self.worst_memory is not None:
            out.append(
                f"worst memory ratio: {self.worst_memory[0]} {self.worst_memory[1]:.2f}× "
                f"(limit {MEMORY_TARGET})"
            )
        out.extend(f"MISSED: {miss}" for miss in self.misses)
        if not self.misses:
            out.append("all measured targets met")
        return out


def summary(results: Sequence[Result]) -> Summary:
    """The figures the issue's Done-means quote, over the cases that ran."""
    ran = [r for r in results if r.status == "ok"]
    timed = [
        (r.case.name, ratio)
        for r in ran
        if r.case.family in TARGET_FAMILIES
        if (ratio := r.ratio("f+b")) is not None
    ]
    memory = [(r.case.name, ratio) for r in ran if (ratio := r.memory_ratio()) is not None]
    geomean = math.exp(sum(math.log(ratio) for _, ratio in timed) / len(timed)) if timed else None
    misses = []
    if geomean is not None and geomean > GEOMEAN_TARGET:
        misses.append(f"geomean {geomean:.2f}× > {GEOMEAN_TARGET}")
    misses += [f"{name} {ratio:.2f}× > {CASE_LIMIT}" for name, ratio in timed if ratio > CASE_LIMIT]
    misses += [
        f"{r.case.name} {ratio:.2f}× > {LINEAR_TARGET}"
        for r in ran
        if r.case.family == "linear"
        if (ratio := r.ratio("f+b")) is not None and ratio > LINEAR_TARGET
    ]
    misses += [
        f"{name} memory {ratio:.2f}× > {MEMORY_TARGET}" for name, ratio in memory if ratio > MEMORY_TARGET
    ]
    misses += [f"{r.case.name}: {r.status}" for r in results if r.status != "ok"]
    misses += [f"{r.case.name}: {note}" for r in results for note in r.notes]
    return Summary(
        geomean,
        max(timed, key=lambda item: item[1]) if timed else None,
        max(memory, key=lambda item: item[1]) if memory else None,
        misses,
    )


def _columns(results: Sequence[Result]) -> list[tuple[str, str]]:
    columns = [("case", "left"), ("native f+b", "ms"), ("fwd", "×"), ("f+b", "×"), ("memory", "×")]
    if any("compiled f+b" in r.times for r in results):
        columns += [("compiled fwd", "×"), ("compiled f+b", "×")]
    if any("literal f+b" in r.times or "literal" in r.memory for r in results):
        columns += [("literal f+b", "×"), ("literal memory", "×")]
    return columns


def _cells(result: Result, columns: list[tuple[str, str]]) -> list[str]:
    def ratio(value: float | None, limit: float | None = None) -> str:
        if value is None:
            return "—"
        text = f"{value:.2f}" if value < 100 else f"{value:.0f}"
        return text + ("!" if limit is not None and value > limit else "")

    if result.status != "ok":
        return [result.case.name, result.status.split(":")[0]] + ["—"] * (len(columns) - 2)
    values = {
        "case": result.case.name,
        "native f+b": f"{1e3 * result.times['theirs f+b']:.1f}" if "theirs f+b" in result.times else "—",
        "fwd": ratio(result.ratio("fwd")),
        "f+b": ratio(result.ratio("f+b"), CASE_LIMIT),
        "memory": ratio(result.memory_ratio(), MEMORY_TARGET),
        "compiled fwd": ratio(result.ratio("fwd", "compiled")),
        "compiled f+b": ratio(result.ratio("f+b", "compiled")),
        "literal f+b": ratio(result.ratio("f+b", "literal")),
        "literal memory": ratio(result.memory_ratio("literal")),
    }
    return [values[name] for name, _ in columns]


def format_table(results: Sequence[Result]) -> str:
    """A plain-text table: one row per case, time and memory ratios scratchnn/native (``!``: over a limit)."""
    columns = _columns(results)
    header = [name if unit == "left" else f"{name} {unit}" for name, unit in columns]
    rows = [header] + [_cells(r, columns) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = []
    for k, row in enumerate(rows):
        cells = [cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_markdown(results: Sequence[Result]) -> str:
    """The same table in Markdown, with the case descriptions."""
    columns = _columns(results)
    header = ["case", "shape"] + [f"{name} ({unit})" for name, unit in columns[1:]]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---"] + ["---:"] * (len(header) - 2)) + "|",
    ]
    for r in results:
        cells = _cells(r, columns)
        lines.append("| " + " | ".join([cells[0], r.case.description, *cells[1:]]) + " |")
    return "\n".join(lines)


def plot(results: Sequence[Result], path: str | Path, title: str = "scratchnn / native") -> Path:
    """A PNG with two panels, time ratios (fwd, f+b, compiled f+b) and the memory ratio per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran = [r for r in results if r.status == "ok" and r.ratio("f+b") is not None]
    names = [r.case.name for r in ran]
    fig, (ax_time, ax_memory) = plt.subplots(
        1, 2, figsize=(13, 0.38 * len(ran) + 1.8), sharey=True, gridspec_kw={"width_ratios": [3, 2]}
    )
    positions = list(range(len(ran)))
    series = [
        ("fwd", "fwd", "ours", "#9ecae1"),
        ("f+b", "fwd+bwd", "ours", "#3182bd"),
        ("f+b", "compiled fwd+bwd", "compiled", "#e6550d"),
    ]
    series = [s for s in series if any(r.ratio(s[0], s[2]) is not None for r in ran)]
    height = 0.8 / len(series)
    for k, (what, label, impl, color) in enumerate(series):
        values = [r.ratio(what, impl) or math.nan for r in ran]
        ax_time.barh(
            [p + (k - (len(series) - 1) / 2) * height for p in positions],
            values,
            height,
            label=label,
            color=color,
        )
    for x, style in ((1.0, "-"), (GEOMEAN_TARGET, "--"), (CASE_LIMIT, ":")):
        ax_time.axvline(x, color="black", linestyle=style, linewidth=0.8)
    ax_time.set_xscale("log")
    ax_time.set_xlabel("time ratio (scratchnn / native); lines: 1, 1.25, 2")
    ax_time.legend(loc="best", fontsize=8)
    memory = [r.memory_ratio() or math.nan for r in ran]
    ax_memory.barh(positions, memory, 0.6, color="#31a354")
    for x, style in ((1.0, "-"), (MEMORY_TARGET, "--")):
        ax_memory.axvline(x, color="black", linestyle=style, linewidth=0.8)
    ax_memory.set_xscale("log")
    ax_memory.set_xlabel("peak memory ratio, fwd+bwd; lines: 1, 1.5")
    ax_time.set_yticks(positions, names, fontsize=8)
    ax_time.invert_yaxis()
    from matplotlib.ticker import FuncFormatter, LogLocator

    for ax in (ax_time, ax_memory):
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}×"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
        ax.grid(axis="x", which="both", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
