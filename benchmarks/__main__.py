"""``python -m benchmarks [--quick] [--sizes ...] [--repeats N] [--output PATH]``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import runner, workloads
from .digits import BATCH, LEARNING_RATE, TARGET, TRAIN, DigitsRun, digits_epochs

DEFAULT_SIZES = {"moons": 100, "chain": 100_000, "wide": 100_000, "pairwise": 100_000, "moons_large": 1_000}
QUICK_SIZES = {"moons": 8, "chain": 600, "wide": 1_000, "pairwise": 1_000, "moons_large": 16}
RESULTS = Path(__file__).with_name("RESULTS.md")


def parse_sizes(text: str) -> dict[str, int]:
    """``"moons=100,chain=100000"`` → sizes; workloads not named keep their defaults."""
    return {**DEFAULT_SIZES, **parse_overrides(text)}


def parse_overrides(text: str) -> dict[str, int]:
    """``"moons=100,chain=100000"`` → the sizes named (the others come from the defaults, or --quick's)."""
    sizes: dict[str, int] = {}
    for item in filter(None, text.split(",")):
        name, sep, number = item.partition("=")
        name = name.strip()
        if not sep or name not in DEFAULT_SIZES:
            raise argparse.ArgumentTypeError(
                f"--sizes: expected NAME=N with NAME in {sorted(DEFAULT_SIZES)}, got {item!r}"
            )
        try:
            value = int(number)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--sizes: {name} must be an integer, got {number!r}") from None
        if value < {"moons": 2, "chain": 6, "wide": 1, "pairwise": 1, "moons_large": 2}[name]:
            raise argparse.ArgumentTypeError(f"--sizes: {name}={value} is too small")
        sizes[name] = value
    return sizes


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time this engine against micrograd 0.1.0 and hand-written floats.",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and 3 repeats: a smoke run")
    parser.add_argument(
        "--sizes", type=parse_overrides, help="e.g. moons=100,chain=100000,wide=100000,pairwise=100000"
    )
    parser.add_argument("--repeats", type=positive, help="timed runs per engine and GC mode (default 5)")
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where to write the Markdown table (default {RESULTS.name} for a full run; "
        "--quick writes nothing unless given)",
    )
    args = parser.parse_args(argv)
    sizes = {**(QUICK_SIZES if args.quick else DEFAULT_SIZES), **(args.sizes or {})}
    repeats = args.repeats or (3 if args.quick else 5)
    output = args.output or (None if args.quick else RESULTS)
    command = "python -m benchmarks" + ("" if argv is None else " " + " ".join(argv)).rstrip()
    if argv is None and len(sys.argv) > 1:
        command += " " + " ".join(sys.argv[1:])

    # micrograd's recursive sort needs a higher recursion limit; put the caller's back afterwards.
    limit = sys.getrecursionlimit()
    try:
        return _run(sizes, repeats, output, command, digits=not args.quick)
    finally:
        sys.setrecursionlimit(limit)


def digits_section(run: DigitsRun) -> str:
    """The digits epoch as Markdown, to follow the tables."""
    status = "reached" if run.reached else "NOT reached"
    return "\n".join(
        [
            "",
            "The digits epoch (`benchmarks/digits.py`): scikit-learn's 8×8 digits, pixels / 16, "
            f"a seeded split of {TRAIN:,} to train and {1797 - TRAIN} to test; `MLP(64, [64, 10])`, "
            f"`cross_entropy`, Adam lr {LEARNING_RATE}, batches of {BATCH}, `fit(compile=True)` "
            "(the vectorised replay).",
            "",
            "| epochs to ≥ 95 % test accuracy | CPU seconds, compile included | test accuracy "
            "| first epoch (s) | later epoch (s) |",
            "|---:|---:|---:|---:|---:|",
            f"| {run.epochs} | {run.seconds:.1f} | {run.accuracy:.1%} | {run.first_epoch_seconds:.2f} "
            f"| {run.epoch_seconds:.2f} |",
            "",
            f"Target {TARGET:.0%} {status}. CPU seconds count training only (each epoch's test evaluation "
            "is left out).",
            "",
        ]
    )


def _run(sizes: dict[str, int], repeats: int, output: Path | None, command: str, digits: bool = False) -> int:
    """Build, check, time and measure every workload; print (and write) the table."""
    started = time.perf_counter()
    print(runner.machine(), flush=True)
    chosen = [
        workloads.moons(sizes["moons"]),
        workloads.chain(sizes["chain"]),
        workloads.wide(sizes["wide"]),
        workloads.wide(sizes["pairwise"], pairwise=True),
        # micrograd left out at 1,000 points: one of its steps takes seconds.
        workloads.moons(
            sizes["moons_large"], micrograd=False, name=f"moons step, {sizes['moons_large']:,} points"
        ),
    ]
    timings, memory = [], []
    for workload in chosen:
        runner.check_agreement(workload)
        print(f"{workload.name}: gradients agree; timing {repeats}× per engine and GC mode…", flush=True)
        timings += runner.time_workload(workload, repeats)
    for workload in chosen:
        if workload.operations:
            memory += runner.measure_memory(workload)
    table = runner.format_results(chosen, timings, memory, repeats, command)
    if digits:
        print("digits: training MLP(64, [64, 10]) with fit(compile=True) to 95% test accuracy…", flush=True)
        table += digits_section(digits_epochs())
    print()
    print(table)
    if output is not None:
        runner.write_atomic(output, table)
        print(f"written to {output}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
