"""``nn.losses`` against ``torch.nn.functional`` (float64): values and gradients, stability, errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value
from nn import losses

REL, ABS = 1e-9, 1e-12


def approx(expected):
    # The absolute part covers values near 0 where PyTorch itself rounds differently
    # (e.g. its log(1 + exp(-|x|)) loses the digits of a 1e-10 loss; ours keeps them).
    return pytest.approx(expected, rel=REL, abs=ABS)


def ours(loss_fn, preds: list[float], targets, **kwargs) -> tuple[float, list[float]]:
    """The loss of ``preds`` (as leaves) and its gradient with respect to each."""
    values = [Value(p) for p in preds]
    loss = loss_fn(values, targets, **kwargs)
    loss.backward()
    return loss.data, [v.grad for v in values]


def theirs(loss_fn, preds: list[float], targets, **kwargs) -> tuple[float, list[float]]:
    x = torch.tensor(preds, dtype=torch.float64, requires_grad=True)
    loss = loss_fn(x, torch.tensor(targets, dtype=torch.float64), **kwargs)
    loss.backward()
    return loss.item(), x.grad.tolist()


def assert_same(ours_result, theirs_result):
    (our_value, our_grads), (their_value, their_grads) = ours_result, theirs_result
    assert our_value == approx(their_value)
    assert our_grads == approx(their_grads)


def torch_hinge(scores: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    per_sample = torch.relu(1 - targets * scores)
    return {"mean": per_sample.mean, "sum": per_sample.sum}[reduction]()


finite = st.floats(-50, 50, allow_nan=False)
probability = st.floats(1e-5, 1 - 1e-5)
unit = st.floats(0.0, 1.0)
sizes = st.integers(1, 8)


def paired(predictions, targets):
    """Two lists of the same random length: predictions and targets."""
    return sizes.flatmap(
        lambda n: st.tuples(
            st.lists(predictions, min_size=n, max_size=n), st.lists(targets, min_size=n, max_size=n)
        )
    )


# ---------------------------------------------------------------- element-wise losses, random inputs
@given(paired(finite, finite))
def test_mse_matches_torch(data):
    preds, targets = data
    assert_same(ours(losses.mse_loss, preds, targets), theirs(F.mse_loss, preds, targets))


@given(paired(probability, unit))
def test_binary_cross_entropy_matches_torch(data):
    probs, targets = data
    assert_same(
        ours(losses.binary_cross_entropy, probs, targets), theirs(F.binary_cross_entropy, probs, targets)
    )


@given(paired(finite, unit))
def test_binary_cross_entropy_with_logits_matches_torch(data):
    logits, targets = data
    assert_same(
        ours(losses.binary_cross_entropy_with_logits, logits, targets),
        theirs(F.binary_cross_entropy_with_logits, logits, targets),
    )


@given(paired(st.floats(-3, 3), st.sampled_from([-1, 1])))
def test_hinge_matches_torch(data):
    scores, targets = data
    assert_same(ours(losses.hinge_loss, scores, targets), theirs(torch_hinge, scores, targets))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(
    "our_fn, their_fn, preds, targets",
    [
        (losses.mse_loss, F.mse_loss, [0.5, -1.0, 2.0], [1.0, 0.0, 2.5]),
        (losses.binary_cross_entropy, F.binary_cross_entropy, [0.2, 0.9, 0.5], [0.0, 1.0, 0.3]),
        (
            losses.binary_cross_entropy_with_logits,
            F.binary_cross_entropy_with_logits,
            [2.0, -3.0, 0.1],
            [1.0, 0.0, 0.5],
        ),
        (losses.hinge_loss, torch_hinge, [0.5, -2.0, 1.5], [1, -1, -1]),
    ],
)
def test_reductions_match_torch(our_fn, their_fn, preds, targets, reduction):
    assert_same(
        ours(our_fn, preds, targets, reduction=reduction),
        theirs(their_fn, preds, targets, reduction=reduction),
    )
    per_sample = our_fn([Value(p) for p in preds], targets, reduction="none")
    expected = their_fn(
        torch.tensor(preds, dtype=torch.float64), torch.tensor(targets, dtype=torch.float64), reduction="sum"
    )
    assert isinstance(per_sample, list) and len(per_sample) == 3
    assert sum(v.data for v in per_sample) == approx(expected.item())


def test_single_prediction_and_target():
    p = Value(0.7)
    loss = losses.mse_loss(p, 0.2)
    loss.backward()
    assert loss.data == pytest.approx(0.25) and p.grad == pytest.approx(1.0)
    assert losses.hinge_loss(Value(0.25), -1).data == 1.25
    assert losses.binary_cross_entropy(0.5, 1).data == pytest.approx(math.log(2))  # a number: a constant


# ---------------------------------------------------------------- softmax and cross-entropy, random inputs
logit_rows = st.integers(1, 6).flatmap(lambda k: st.lists(finite, min_size=k, max_size=k))


@given(logit_rows, st.data())
def test_softmax_and_log_softmax_match_torch(logits, data):
    weights = data.draw(st.lists(st.floats(-2, 2), min_size=len(logits), max_size=len(logits)))
    for our_fn, their_fn in [(losses.softmax, F.softmax), (losses.log_softmax, F.log_softmax)]:
        values = [Value(z) for z in logits]
        out = our_fn(values)
        total = Value(0.0)
        for w, o in zip(weights, out, strict=True):
            total = total + o * w
        total.backward()
        x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
        expected = their_fn(x, dim=0)
        (expected * torch.tensor(weights, dtype=torch.float64)).sum().backward()
        assert [o.data for o in out] == approx(expected.tolist())
        assert [v.grad for v in values] == approx(x.grad.tolist())


@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_cross_entropy_matches_torch(n, k, data):
    rows = data.draw(st.lists(st.lists(finite, min_size=k, max_size=k), min_size=n, max_size=n))
    targets = data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    values = [[Value(z) for z in row] for row in rows]
    loss = losses.cross_entropy(values, targets)
    loss.backward()
    x = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    expected = F.cross_entropy(x, torch.tensor(targets))
    expected.backward()
    assert loss.data == approx(expected.item())
    assert [v.grad for row in values for v in row] == approx(x.grad.flatten().tolist())


def test_cross_entropy_single_sample_and_sum():
    logits = [Value(1.0), Value(2.0), Value(0.5)]
    loss = losses.cross_entropy(logits, 1)
    loss.backward()
    x = torch.tensor([[1.0, 2.0, 0.5]], dtype=torch.float64, requires_grad=True)
    expected = F.cross_entropy(x, torch.tensor([1]))
    expected.backward()
    assert loss.data == approx(expected.item())
    assert [v.grad for v in logits] == approx(x.grad[0].tolist())
    total = losses.cross_entropy([[1.0, 2.0], [3.0, 0.0]], [0, 0], reduction="sum")
    assert total.data == approx(
        F.cross_entropy(
            torch.tensor([[1.0, 2.0], [3.0, 0.0]], dtype=torch.float64), torch.tensor([0, 0]), reduction="sum"
        ).item()
    )


# ---------------------------------------------------------------- stability
@pytest.mark.parametrize("big", [1000.0, -1000.0])
def test_softmax_family_is_finite_for_huge_logits(big):
    logits = [big, -big, 0.0]
    x = torch.tensor(logits, dtype=torch.float64)
    values = [Value(z) for z in logits]
    assert [v.data for v in losses.softmax(values)] == approx(F.softmax(x, dim=0).tolist())
    assert [v.data for v in losses.log_softmax(values)] == approx(F.log_softmax(x, dim=0).tolist())
    for target in range(3):
        values = [Value(z) for z in logits]
        loss = losses.cross_entropy(values, target)
        loss.backward()
        xt = x.clone().requires_grad_(True)
        expected = F.cross_entropy(xt[None], torch.tensor([target]))
        expected.backward()
        assert math.isfinite(loss.data)
        assert loss.data == approx(expected.item())
        assert [v.grad for v in values] == approx(xt.grad.tolist())


def test_cross_entropy_of_opposite_huge_logits_is_2000():
    assert losses.cross_entropy([Value(1000.0), Value(-1000.0)], 1).data == 2000.0


@pytest.mark.parametrize("x", [1000.0, -1000.0, 745.0, -745.0, 40.0, -40.0, 0.0, -0.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.25])
def test_bce_with_logits_is_stable(x, y):
    assert_same(
        ours(losses.binary_cross_entropy_with_logits, [x], [y]),
        theirs(F.binary_cross_entropy_with_logits, [x], [y]),
    )


def test_bce_with_logits_keeps_digits_of_tiny_losses():
    # log(1 + e^-23) ≈ 1.0261879631e-10: computing 1 + e^-23 first would lose 5 digits.
    loss = losses.binary_cross_entropy_with_logits(Value(-23.0), 0.0)
    assert loss.data == pytest.approx(math.log1p(math.exp(-23.0)), rel=1e-15, abs=0.0)
    loss = losses.binary_cross_entropy_with_logits(Value(40.0), 1.0)
    assert loss.data == pytest.approx(math.exp(-40.0), rel=1e-15, abs=0.0)


@pytest.mark.parametrize(
    "p, y", [(0.0, 1.0), (1.0, 0.0), (0.0, 0.5), (1.0, 0.5), (0.0, 0.0), (1.0, 1.0), (1e-50, 1.0)]
)
def test_bce_clamps_logs_at_minus_100_like_torch(p, y):
    prob = Value(p)
    loss = losses.binary_cross_entropy(prob, y)
    expected = F.binary_cross_entropy(
        torch.tensor(p, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    )
    assert loss.data == approx(expected.item())
    assert loss.data <= 100.0
    loss.backward()
    assert math.isfinite(prob.grad)


def test_bce_log_of_one_minus_tiny_p_is_accurate():
    p = 1e-12
    loss = losses.binary_cross_entropy(Value(p), 0.0)
    assert loss.data == pytest.approx(-math.log1p(-p), rel=1e-15, abs=0.0)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: losses.mse_loss([Value(1.0), Value(2.0)], [1.0]), ValueError, "2 predictions but 1 targets"),
        (lambda: losses.mse_loss([Value(1.0)], 1.0), ValueError, "single target"),
        (lambda: losses.mse_loss(Value(1.0), [1.0, 2.0]), ValueError, "single prediction but 2 targets"),
        (lambda: losses.mse_loss([], []), ValueError, "no predictions"),
        (lambda: losses.mse_loss(Value(1.0), Value(2.0)), TypeError, r"target must be a number.*\.data"),
        (lambda: losses.mse_loss("1", 1.0), TypeError, "prediction must be a Value or a number"),
        (lambda: losses.mse_loss(Value(1.0), 1.0, reduction="avg"), ValueError, "'mean', 'sum', 'none'"),
        (lambda: losses.binary_cross_entropy(Value(1.5), 1.0), ValueError, r"\[0, 1\].*1.5"),
        (lambda: losses.binary_cross_entropy(Value(-0.1), 0.0), ValueError, r"\[0, 1\]"),
        (lambda: losses.binary_cross_entropy(Value(math.nan), 0.0), ValueError, r"\[0, 1\]"),
        (lambda: losses.hinge_loss([Value(1.0)], [0]), ValueError, "-1 or \\+1"),
        (lambda: losses.cross_entropy([Value(1.0), Value(2.0)], 2), ValueError, "outside 0..1"),
        (lambda: losses.cross_entropy([Value(1.0), Value(2.0)], -1), ValueError, "outside"),
        (lambda: losses.cross_entropy([Value(1.0), Value(2.0)], 1.0), TypeError, "int class index"),
        (lambda: losses.cross_entropy([Value(1.0), Value(2.0)], True), TypeError, "int class index"),
        (lambda: losses.cross_entropy([[1.0, 2.0]], [0, 1]), ValueError, "2 targets but 1 samples"),
        (lambda: losses.cross_entropy([], []), ValueError, "no samples"),
        (lambda: losses.softmax([]), ValueError, "non-empty"),
        (lambda: losses.log_softmax(Value(1.0)), ValueError, "list"),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()
