"""The benchmark runner: a smoke run on tiny sizes, and the checks it relies on."""

from __future__ import annotations

import math
import re

import pytest

pytest.importorskip("micrograd", reason="the benchmarks compare against micrograd (the `bench` extra)")

from autograd import Value  # noqa: E402
from benchmarks import floats, runner, workloads  # noqa: E402
from benchmarks.__main__ import main, parse_sizes  # noqa: E402


@pytest.fixture(autouse=True)
def _keep_the_recursion_limit():
    """Building micrograd's workloads raises the recursion limit; later tests get the default back."""
    import sys

    limit = sys.getrecursionlimit()
    yield
    sys.setrecursionlimit(limit)


def test_a_benchmark_run_leaves_the_recursion_limit_as_it_was():
    import sys

    limit = sys.getrecursionlimit()
    assert main(["--quick", "--repeats", "1", "--sizes", "moons=4,chain=60,wide=50,pairwise=50"]) == 0
    assert sys.getrecursionlimit() == limit


def test_quick_run_writes_a_complete_table(tmp_path, capsys):
    out = tmp_path / "RESULTS.md"
    assert main(["--quick", "--repeats", "1", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text == capsys.readouterr().out.split("\n\n", 1)[1].rsplit("\nwritten to", 1)[0]
    assert "Python 3." in text and "cores" in text
    for workload in ("moons step", "chain", "wide", "wide pairwise"):
        assert text.count(f"| {workload} | on |") == 1 and text.count(f"| {workload} | off |") == 1
        if workload != "moons step":
            for engine in ("floats", "autograd", "micrograd"):
                assert f"| {workload} | {engine} |" in text
    assert "setrecursionlimit" in text
    # The compile figures of the moons graph: seconds, their ratio to a step, memory per node.
    assert re.search(r"compile seconds: \d+\.\d\d \(\d+\.\d× one interpreted step, GC on\)\.", text)
    assert re.search(r"compile memory, bytes per node: [\d,]+\.", text)
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file


def test_quick_run_without_output_writes_nothing(monkeypatch, tmp_path):
    import benchmarks.__main__ as entry

    monkeypatch.setattr(entry, "RESULTS", tmp_path / "RESULTS.md")
    assert main(["--quick", "--repeats", "1", "--sizes", "moons=4,chain=60,wide=50"]) == 0
    assert not (tmp_path / "RESULTS.md").exists()


def test_hand_written_floats_agree_with_the_engine():
    leaves, root = workloads.build_chain(Value, 40)
    root.backward()
    out, grads = floats.chain(*workloads.CHAIN_LEAVES, 40)
    assert out == pytest.approx(root.data, rel=1e-12)
    assert grads == pytest.approx([v.grad for v in leaves], rel=1e-12)

    xs, ws = [0.5, -1.0, 2.0], [3.0, 0.25, -0.5]
    s, gx, gw = floats.wide(xs, ws)
    assert (s, gx, gw) == (1.5 - 0.25 - 1.0, ws, xs)
    s, gx, gw = floats.wide(xs, ws, pairwise=True)
    assert (s, gx, gw) == ((1.5 + -0.25) + -1.0, ws, xs)


def test_pairwise_sum_is_a_balanced_tree():
    leaves = [Value(float(i)) for i in range(5)]
    total = workloads.pairwise_sum(leaves)
    assert total.data == 10.0
    # ((0 + 1) + (2 + 3)) + 4: depth 3, not a chain of 4
    left, right = total.parents
    assert right is leaves[4] and [p.parents for p in left.parents] == [tuple(leaves[:2]), tuple(leaves[2:4])]
    total.backward()
    assert [v.grad for v in leaves] == [1.0] * 5


def test_wide_workloads_agree_in_both_shapes():
    for pairwise in (False, True):
        workload = workloads.wide(50, pairwise=pairwise)
        runner.check_agreement(workload)
        memory = {m.engine: m for m in runner.measure_memory(workload)}
        # 50 products, then 49 additions in a tree, or 50 with sum() (which starts from 0)
        assert memory["autograd"].nodes == workload.operations == (99 if pairwise else 100)
        assert memory["autograd"].bytes_total / workload.operations <= 150


def test_float_mlp_layout_round_trips():
    flat = [float(i) for i in range(2 * 3 + 3 + 3 * 1 + 1)]
    layers = floats.split_mlp(flat, [2, 3, 1])
    assert layers[0][0] == [[0.0, 1.0], [3.0, 4.0], [6.0, 7.0]] and layers[0][1] == [2.0, 5.0, 8.0]
    assert floats.flatten_mlp(layers) == flat
    with pytest.raises(ValueError, match="do not fit"):
        floats.split_mlp(flat[:-1], [2, 3, 1])


def test_agreement_check_catches_a_wrong_engine():
    good = workloads.Case("floats", lambda: None, lambda: [1.0, 2.0])
    close = workloads.Case("autograd", lambda: None, lambda: [1.0 + 1e-12, 2.0])
    wrong = workloads.Case("micrograd", lambda: None, lambda: [1.0, 2.0 + 1e-6])
    runner.check_agreement(workloads.Workload("w", "", [good, close]))
    with pytest.raises(AssertionError, match="micrograd disagrees"):
        runner.check_agreement(workloads.Workload("w", "", [good, close, wrong]))
    short = workloads.Case("compiled", lambda: None, lambda: [1.0])
    with pytest.raises(AssertionError, match="1 gradients"):
        runner.check_agreement(workloads.Workload("w", "", [good, short]))


def test_timing_interleaves_engines_and_reports_medians():
    calls: list[str] = []
    cases = [workloads.Case(name, lambda n=name: calls.append(n), list) for name in ("floats", "autograd")]
    timings = runner.time_workload(workloads.Workload("w", "", cases), repeats=3)
    assert [t.gc_enabled for t in timings] == [True, False]
    # GC on: a warm-up run, then the timed one, per engine and repeat; GC off: the timed run only.
    assert calls == ["floats", "floats", "autograd", "autograd"] * 3 + ["floats", "autograd"] * 3
    assert all(set(t.medians) == {"floats", "autograd"} for t in timings)
    assert all(math.isfinite(v) and v >= 0 for t in timings for v in t.medians.values())


def test_memory_is_measured_per_node():
    workload = workloads.chain(60)
    memory = {m.engine: m for m in runner.measure_memory(workload)}
    assert memory["autograd"].nodes == 60  # one node per operation, constants are not nodes
    assert memory["micrograd"].nodes > 60  # micrograd wraps constants and expands / into two nodes
    assert 50 < memory["autograd"].bytes_total / 60 <= 150
    assert memory["micrograd"].bytes_total > 3 * memory["autograd"].bytes_total


@pytest.mark.parametrize("bad", ["moons", "moons=x", "lake=3", "wide=0"])
def test_bad_sizes_are_refused(bad):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        parse_sizes(bad)


def test_sizes_keep_defaults_for_unnamed_workloads():
    assert parse_sizes("chain=600") == {
        "moons": 100,
        "chain": 600,
        "wide": 100_000,
        "pairwise": 100_000,
        "moons_large": 1_000,
    }
    assert parse_sizes("pairwise=10")["pairwise"] == 10


def test_the_digits_split_is_seeded_and_scaled():
    pytest.importorskip("sklearn")
    from benchmarks.digits import load_digits_split

    X_train, y_train, X_test, y_test = load_digits_split()
    assert (len(X_train), len(X_test)) == (1437, 360) and len(y_train) == 1437 and len(y_test) == 360
    assert all(len(x) == 64 and 0.0 <= min(x) and max(x) <= 1.0 for x in X_train + X_test)
    assert load_digits_split()[1] == y_train  # the same split every time
    assert sorted(set(y_test)) == list(range(10))  # shuffled: every class in the held-out part


def test_the_digits_section_reports_the_target():
    from benchmarks.__main__ import digits_section
    from benchmarks.digits import DigitsRun

    text = digits_section(DigitsRun(17, 8.55, 0.9556, 1.73, 0.43, True))
    assert "| 17 | 8.6 | 95.6% | 1.73 | 0.43 |" in text and "Target 95% reached" in text
    assert "NOT reached" in digits_section(DigitsRun(40, 30.0, 0.93, 1.7, 0.7, False))
