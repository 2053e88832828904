"""Timing, memory, agreement checks and the results table.

How the numbers are taken
-------------------------
* **Agreement first.** Before anything is timed, every engine computes the
  gradients of the workload from the same state, and they must equal the
  hand-written floats' to 1e-9 (relative to the larger magnitude, at least 1).
* **CPU time.** A run is timed with ``time.process_time()``: the processor
  time this process used (garbage collection included), not the time on the
  wall clock, which on a shared machine also counts the turns other
  processes take on the same cores. Two runs of the same step can then still
  differ (other processes share the caches too), but not by the length of
  someone else's job.
* **Interleaved.** Repeat ``r`` times: run engine A once, B once, C once, …
  (ABCABC…, not AAA…BBB…), so that a slow spell of a shared machine hits
  every engine alike. The table shows medians.
* **Garbage collector on and off.** "GC on" is what users get: the cyclic
  collector as Python configures it, running whenever allocations trigger it,
  in the steady state of a training loop. Each timed run follows an untimed
  run of the same engine with no collection in between, so it meets the
  garbage that the previous step of a loop leaves behind. That matters for
  micrograd: its nodes are reference cycles (each ``_backward`` closure
  refers to its own node), so its graphs are freed only by the collector,
  which must also traverse them while they wait. This project's nodes hold
  no cycles: a graph is freed by reference counting, inside the timed run,
  as soon as the step lets go of it. "GC off" (``gc.disable()`` around the
  timed run, after a collection) is the engine's own work.
* **Memory.** ``tracemalloc`` traces the allocations while one graph is
  built (peak minus start); divided by the number of nodes the engine
  created, and by the number of operations.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from .workloads import Case, Workload

TOLERANCE = 1e-9
T = TypeVar("T")


@dataclass
class Timing:
    workload: str
    gc_enabled: bool
    medians: dict[str, float]  # engine → seconds


@dataclass
class Memory:
    workload: str
    engine: str
    bytes_total: int
    nodes: int
    operations: int


def machine() -> str:
    """CPU model, cores and Python version, for the header of the results."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        micrograd = metadata.version("micrograd")
    except metadata.PackageNotFoundError:
        micrograd = "not installed"
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()} "
        f"({platform.python_implementation()}, {sys.platform}); micrograd {micrograd}"
    )


def _close(x: float, y: float) -> bool:
    return abs(x - y) <= TOLERANCE * max(1.0, abs(x), abs(y))


def check_agreement(workload: Workload) -> None:
    """Every engine's gradients equal the hand-written floats' (to 1e-9); ``AssertionError`` otherwise."""
    reference_case, *others = workload.cases
    reference = _with_inputs(reference_case, reference_case.gradients)
    for case in others:
        grads = _with_inputs(case, case.gradients)
        if len(grads) != len(reference):
            raise AssertionError(
                f"{workload.name}: {case.engine} has {len(grads)} gradients, "
                f"{reference_case.engine} {len(reference)}"
            )
        bad = [i for i, (g, r) in enumerate(zip(grads, reference, strict=True)) if not _close(g, r)]
        if bad:
            i = bad[0]
            raise AssertionError(
                f"{workload.name}: {case.engine} disagrees with {reference_case.engine} on {len(bad)} "
                f"gradient(s); first, #{i}: {grads[i]!r} vs {reference[i]!r}"
            )


def _with_inputs(case: Case, action: Callable[[], T]) -> T:
    """``action()`` between the case's ``setup()`` and ``teardown()``."""
    case.setup()
    try:
        return action()
    finally:
        case.teardown()


def _time_once(case: Case, gc_enabled: bool) -> float:
    """One timed run: after a warm-up run with the GC on, after a collection with it off."""

    def timed() -> float:
        gc.collect()
        if gc_enabled:
            case.run()  # the previous step of a training loop: its garbage is still around
        else:
            gc.disable()
        try:
            start = time.process_time()
            case.run()
            return time.process_time() - start
        finally:
            gc.enable()

    return _with_inputs(case, timed)


def time_workload(workload: Workload, repeats: int) -> list[Timing]:
    """Medians over ``repeats`` interleaved runs, with the cyclic GC on, then off."""
    results = []
    for gc_enabled in (True, False):
        samples: dict[str, list[float]] = {case.engine: [] for case in workload.cases}
        for _ in range(repeats):
            for case in workload.cases:
                samples[case.engine].append(_time_once(case, gc_enabled))
        medians = {engine: statistics.median(times) for engine, times in samples.items()}
        results.append(Timing(workload.name, gc_enabled, medians))
    return results


def measure_memory(workload: Workload) -> list[Memory]:
    """Bytes allocated while building one graph, for every engine that has a ``build``."""
    results = []
    for case in workload.cases:
        if case.build is None:
            continue
        case.setup()
        gc.collect()
        gc.disable()
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            kept, count = case.build()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            gc.enable()
        nodes = count()
        del kept, count
        case.teardown()
        results.append(Memory(workload.name, case.engine, peak - start, nodes, workload.operations))
    gc.collect()
    return results


# ---------------------------------------------------------------- the table
ENGINES = ("floats", "autograd", "compiled", "micrograd", "vectorised")


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1e3:,.1f}" if seconds >= 0.01 else f"{seconds * 1e3:.2f}"


def _ratio(x: float | None, y: float | None) -> str:
    return "–" if x is None or y is None or y == 0 else f"{x / y:,.1f}×"


def format_results(
    workloads: Sequence[Workload],
    timings: Sequence[Timing],
    memory: Sequence[Memory],
    repeats: int,
    command: str,
) -> str:
    """The results as Markdown: header, time table, memory table, notes."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmark results",
        "",
        f"`{command}` on {now}  ",
        f"Machine: {machine()}  ",
        f"Medians of {repeats} interleaved runs (ms of CPU time, `time.process_time()`). "
        "Ratios: how many times faster than micrograd, "
        "and how many times slower than the hand-written floats.",
        "",
        "| workload | GC | floats | autograd | compiled | micrograd | micrograd ÷ autograd "
        "| micrograd ÷ compiled | autograd ÷ floats | compiled ÷ floats |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        m = t.medians
        f, a, c, mg, _ = (m.get(e) for e in ENGINES)
        gc_mode = "on" if t.gc_enabled else "off"
        out.append(
            f"| {t.workload} | {gc_mode} | {_ms(f)} | {_ms(a)} | {_ms(c)} | {_ms(mg)} "
            f"| {_ratio(mg, a)} | {_ratio(mg, c)} | {_ratio(a, f)} | {_ratio(c, f)} |"
        )
    points = {w.name: w.extra.get("points") for w in workloads}
    vectorised = [t for t in timings if t.medians.get("vectorised") is not None]
    if vectorised:
        out += [
            "",
            "The moons step vectorised (`compile_graph(..., vectorize=True)`: each sample's repeated piece "
            "run once over NumPy arrays). Ratios: how many times *faster* than the hand-written floats and "
            "than the scalar replay.",
            "",
            "| moons points | GC | floats | compiled | vectorised | floats ÷ vectorised "
            "| compiled ÷ vectorised |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for t in vectorised:
            f, c, v = (t.medians.get(e) for e in ("floats", "compiled", "vectorised"))
            gc_mode = "on" if t.gc_enabled else "off"
            shown = f"{points[t.workload]:,}" if points.get(t.workload) else t.workload
            out.append(
                f"| {shown} | {gc_mode} | {_ms(f)} | {_ms(c)} | {_ms(v)} | {_ratio(f, v)} | {_ratio(c, v)} |"
            )
    if memory:
        out += [
            "",
            "Memory while building one graph (tracemalloc, peak − start):",
            "",
            "| workload | engine | nodes created | bytes per node | bytes per operation |",
            "|---|---|---:|---:|---:|",
        ]
        for r in memory:
            graph = r.engine != "floats" and r.nodes > 0  # the floats build no graph
            nodes = f"{r.nodes:,}" if graph else "–"
            per_node = f"{r.bytes_total / r.nodes:,.0f}" if graph else "–"
            out.append(
                f"| {r.workload} | {r.engine} | {nodes} | {per_node} | {r.bytes_total / r.operations:,.0f} |"
            )
    out += ["", "Workloads:", ""]
    step = {t.workload: t.medians.get("autograd") for t in timings if t.gc_enabled}
    for w in workloads:
        out.append(f"* **{w.name}**: {w.description}.")
        for key, value in w.extra.items():
            shown = f"{value:.2f}" if isinstance(value, float) else f"{value:,}"
            if key == "compile seconds" and step.get(w.name):
                shown += f" ({value / step[w.name]:.1f}× one interpreted step, GC on)"
            out.append(f"  {key}: {shown}.")
        for note in w.notes:
            out.append(f"  {note}")
    out += [
        "",
        '"GC on": Python\'s default cyclic garbage collector, in the steady state of a loop (each timed run '
        'follows an untimed one, and meets its garbage). "GC off": `gc.disable()` around the timed run, '
        "after a collection. See `benchmarks/runner.py`.",
        "micrograd creates a node for every constant and expands `-` and `/` into several nodes; its bytes "
        "per operation include them.",
        "",
    ]
    return "\n".join(out)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
