"""The backward pass: topological order, accumulation semantics, depth, ``no_grad``."""

from __future__ import annotations

import math
import sys

import pytest

from autograd import Value, backward, is_grad_enabled, logsumexp, no_grad, topological_order
from autograd.graph import _intermediate_nodes


def test_topological_order_puts_every_parent_before_its_children():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c + b.tanh()
    order = topological_order(e)
    position = {node: i for i, node in enumerate(order)}
    assert len(order) == len(position) == 7  # a, b, c, d, d*c, tanh, e
    assert order[-1] is e
    for node in order:
        for parent in node.parents:
            assert position[parent] < position[node]


def test_topological_order_rejects_non_values():
    with pytest.raises(TypeError, match="float"):
        topological_order(1.0)


def test_backward_seeds_the_output_with_one():
    a = Value(2.0)
    y = a * 3
    y.backward()
    assert y.grad == 1.0 and a.grad == 3.0


def test_a_node_used_twice_gets_the_sum_of_both_contributions():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    b = Value(3.0)
    (b * b).backward()
    assert b.grad == 6.0
    # Diamond: x feeds two paths that meet again.
    x = Value(0.5)
    u, v = x * 2, x.exp()
    (u * v).backward()
    assert x.grad == pytest.approx(2 * v.data + u.data * v.data, rel=1e-15)


def test_leaf_gradients_accumulate_across_backward_calls():
    w = Value(2.0)
    y = w * w
    y.backward()
    y.backward()
    assert w.grad == 8.0  # 4 + 4, as in PyTorch


def test_non_leaf_gradients_hold_the_latest_pass_only():
    w = Value(2.0)
    h = w * 3
    y = h * h
    y.backward()
    first = h.grad
    y.backward()
    assert h.grad == first == 12.0  # micrograd would give 24 here
    assert y.grad == 1.0


def test_the_backward_walk_is_the_topological_order_without_leaves():
    # backward() walks only intermediate results, marking them as it goes instead of
    # keeping a visited set; the order must stay topological_order's, or the compiled
    # replay (which reproduces that order) would round sums differently.
    x, w = Value(0.5), Value(-2.0)
    h = x * w
    shared = h.tanh()
    tail = logsumexp([shared, h, x])
    y = (shared * h + tail) / (shared - 3)
    intermediates = [n for n in topological_order(y) if n.operation is not None]
    assert _intermediate_nodes(y) == intermediates
    assert all(n.grad == 0.0 for n in intermediates)


def test_backward_restarts_every_intermediate_gradient_from_zero():
    x = Value(1.5)
    h = x * 2
    (h * h).backward()
    assert h.grad == 6.0
    # A second graph through the same node: h's gradient is this pass's only,
    # and every intermediate gradient is a plain float again afterwards.
    y = h.exp() + h
    y.backward()
    assert h.grad == math.exp(3.0) + 1.0
    assert [type(n.grad) for n in topological_order(y)] == [float] * 4
    assert x.grad == 12.0 + 2 * (math.exp(3.0) + 1.0)  # a leaf accumulates


def test_backward_on_a_leaf_accumulates_one():
    v = Value(5.0)
    v.backward()
    v.backward()
    assert v.grad == 2.0


def test_module_level_backward_is_the_method():
    a = Value(2.0)
    y = a.sin()
    backward(y)
    assert a.grad == pytest.approx(-0.4161468365471424, rel=1e-15)


@pytest.mark.slow
def test_a_chain_of_a_million_operations_runs_backward_without_recursion():
    assert sys.getrecursionlimit() <= 10_000  # the default limit is in force
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert y.data == 0.5
    assert x.grad == 1.0


def test_no_grad_records_nothing_and_restores_on_exit():
    a = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        b = (a * 3).tanh() + a
        assert b.is_leaf and b.parents == () and b.op == ""
        with no_grad():  # nested blocks
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    c = a * 3
    assert c.parents == (a,)


def test_no_grad_restores_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            Value(1.0) / 0
    assert is_grad_enabled()


def test_no_grad_as_a_decorator():
    @no_grad()
    def update(v):
        return v * 2

    a = Value(1.0)
    assert update(a).is_leaf
    assert not (a * 2).is_leaf


# ---------------------------------------------------------------- no_grad nests, per thread


def test_the_same_no_grad_instance_nested_turns_recording_back_on():
    ng = no_grad()
    with ng:
        with ng:
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not (Value(1.0) * 2).is_leaf


def test_a_recursive_no_grad_function_turns_recording_back_on():
    @no_grad()
    def countdown(n):
        return Value(float(n)) * 2 if n == 0 else countdown(n - 1)

    assert countdown(5).is_leaf
    assert is_grad_enabled() and not (Value(1.0) * 2).is_leaf


def test_no_grad_is_per_thread_and_interleaved_blocks_restore_recording():
    import threading

    inside = threading.Barrier(2)
    recorded: dict[str, bool] = {}

    def evaluate():  # enters no_grad first, leaves it last
        with no_grad():
            inside.wait()  # the other thread is recording now
            inside.wait()
            recorded["no_grad thread"] = not (Value(1.0) * 2).is_leaf

    def train():
        inside.wait()
        recorded["other thread"] = not (Value(1.0) * 2).is_leaf
        with no_grad():
            pass
        inside.wait()

    threads = [threading.Thread(target=evaluate), threading.Thread(target=train)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert recorded == {"no_grad thread": False, "other thread": True}
    assert is_grad_enabled() and not (Value(1.0) * 2).is_leaf


def test_no_grad_entered_in_a_generator_and_closed_from_another_thread_restores_the_entering_thread():
    """Issue 20 item 12: the exit undoes the *entering* thread's block, whichever thread runs it."""
    import threading

    def evaluate():
        with no_grad():
            yield

    others_inside, release = threading.Event(), threading.Event()

    def other():  # keeps a no_grad block open meanwhile, so the per-thread flags are read
        with no_grad():
            others_inside.set()
            release.wait()

    holder = threading.Thread(target=other)
    holder.start()
    others_inside.wait()
    generator = evaluate()
    next(generator)  # this thread is inside no_grad now
    assert not is_grad_enabled()
    closer = threading.Thread(target=generator.close)  # the generator's block exits over there
    closer.start()
    closer.join()
    try:
        assert is_grad_enabled(), "the thread that entered the block records again"
        assert not (Value(1.0) * 2).is_leaf
    finally:
        release.set()
        holder.join()
    assert is_grad_enabled() and not (Value(1.0) * 2).is_leaf


def test_no_grad_closed_from_another_thread_leaves_that_thread_recording():
    """The closing thread was never inside the block: its own recording is untouched."""
    import threading

    def evaluate():
        with no_grad():
            yield

    generator = evaluate()
    next(generator)
    seen = {}

    def close_then_record():
        generator.close()
        seen["closer records"] = is_grad_enabled() and not (Value(1.0) * 2).is_leaf

    closer = threading.Thread(target=close_then_record)
    closer.start()
    closer.join()
    assert seen == {"closer records": True}
    assert is_grad_enabled() and not (Value(1.0) * 2).is_leaf


# ---------------------------------------------------------------- backward from several threads


def _trunk_and_losses(width: int, depth: int):
    """A shared trunk (``depth`` layers over ``width`` leaves) and two losses on top of it."""
    leaves = [Value(0.1 * (i % 7) - 0.3) for i in range(width)]
    layer = leaves
    for d in range(depth):
        shifted = layer[1:] + layer[:1]
        layer = [(a * 0.6 + b * 0.3 + 0.01 * d).tanh() for a, b in zip(layer, shifted, strict=True)]
    trunk = sum(layer, Value(0.0))
    return leaves, [trunk * trunk, (trunk * 3.0).sin()]


def test_backward_from_two_threads_on_losses_sharing_a_trunk_gives_the_sequential_gradients():
    """Issue 20 item 5: whole backward passes are serialised, so every leaf gets a sequential result.

    Each pass adds its contributions to the leaves one by one, so the exact
    floats depend on which pass went first: the result must be one of the two
    sequential orders, bit for bit. A tiny switch interval makes the threads
    interleave within a pass (without the lock, the shared trunk's ``.grad``\\ s mix).
    """
    import threading

    leaves, losses = _trunk_and_losses(100, 40)
    sequential = []
    for order in (losses, losses[::-1]):
        for v in leaves:
            v.grad = 0.0
        for loss in order:
            loss.backward()
        sequential.append([v.grad for v in leaves])
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for trial in range(5):
            for v in leaves:
                v.grad = 0.0
            start = threading.Barrier(len(losses))

            def run(loss, start=start):
                start.wait()
                loss.backward()

            threads = [threading.Thread(target=run, args=(loss,)) for loss in losses]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert [v.grad for v in leaves] in sequential, f"trial {trial}"
    finally:
        sys.setswitchinterval(interval)


# ---------------------------------------------------------------- detach: forward-only


def test_backward_does_not_walk_past_a_detach_nor_pass_it_anything():
    """Issue 20 item 1: the detached source's history is not walked (its .grad is left alone)."""
    x = Value(2.0)
    history = (x * 3.0).tanh()
    history.grad = 7.0  # from an earlier pass
    cut = history.detach()
    y = cut * math.inf + x  # an infinite gradient reaches the detach: none of it goes on
    y.backward()
    assert x.grad == 1.0  # not NaN: no 0 · inf
    assert history.grad == 7.0
    assert cut.grad == math.inf  # the detached node itself holds this pass's gradient
    assert history not in _intermediate_nodes(y) and cut in _intermediate_nodes(y)
    assert cut in topological_order(y) and history in topological_order(y)  # forward walks include it


def test_truncated_backprop_walks_one_chunk_only():
    """The backward walk of the last chunk does not grow with the number of chunks before it."""
    w = Value(0.9)
    h = Value(0.1)
    walked = []
    for _ in range(5):
        for _ in range(10):
            h = (h * w + 0.1).tanh()
        walked.append(len(_intermediate_nodes(h)))
        h = h.detach()
    assert walked == [30, 31, 31, 31, 31]  # one chunk's 30 operations, and the detach it starts from


def test_a_compiled_replay_and_backward_passes_in_two_threads_lose_no_contribution():
    """A replay reads the leaves' .grad first and writes them at the end: it holds the same lock.

    Every gradient here is a whole number (sums of 1s and 2s), so the result is
    exact in any order: each leaf must end with every contribution of both threads.
    """
    import threading

    from autograd import compile_graph

    leaves = [Value(0.5) for _ in range(50)]
    long = Value(0.0)
    for k in range(20_000):  # a long replay: leaf i is used 400 times, times 2
        long = long + leaves[k % 50] * 2.0
    step = compile_graph(long)
    short = sum(leaves, Value(0.0))  # each backward adds 1 to every leaf, early in the replay
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for trial in range(3):
            for v in leaves:
                v.grad = 0.0
            start = threading.Barrier(2)

            def replay(start=start):
                start.wait()
                step()

            def backward_many(start=start):
                start.wait()
                for _ in range(200):
                    short.backward()

            threads = [threading.Thread(target=replay), threading.Thread(target=backward_many)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert [v.grad for v in leaves] == [800.0 + 200.0] * 50, f"trial {trial}"
    finally:
        sys.setswitchinterval(interval)
