"""``nn.optim.LevenbergMarquardt``: against SciPy's MINPACK ``lm``, Adam, and its own promises."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy.optimize import least_squares

import nn
from autograd import Value
from nn import Layer, Sequential
from nn.levenberg_marquardt import MAX_DAMPING, MIN_DAMPING, cholesky_solve, jacobian
from nn.optim import Adam, LevenbergMarquardt

# ---------------------------------------------------------------- the curve fit y = a·exp(−b·x) + c
XS = [4.0 * i / 19 for i in range(20)]
_noise = random.Random(0)
YS = [2.5 * math.exp(-1.3 * x) + 0.5 + _noise.gauss(0.0, 0.05) for x in XS]
START = (1.0, 0.5, 0.0)


def curve_residuals(a: Value, b: Value, c: Value):
    return lambda: [a * (-b * x).exp() + c - y for x, y in zip(XS, YS, strict=True)]


def scipy_fit() -> np.ndarray:
    def residuals(p):
        a, b, c = p
        return np.array([a * np.exp(-b * x) + c - y for x, y in zip(XS, YS, strict=True)])

    solution = least_squares(residuals, START, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert solution.success
    return solution.x


def steps_to_reach(update, params: list[Value], target: np.ndarray, limit: int) -> int | None:
    """The first step after which every parameter is within 1e-6 of ``target`` (None: not in ``limit``)."""
    for step in range(1, limit + 1):
        update()
        if max(abs(p.data - t) for p, t in zip(params, target, strict=True)) < 1e-6:
            return step
    return None


def test_curve_fit_converges_to_scipy_lm_in_far_fewer_steps_than_adam():
    target = scipy_fit()

    params = [Value(v) for v in START]
    residuals = curve_residuals(*params)
    lm = LevenbergMarquardt(params)
    lm_steps = steps_to_reach(lambda: lm.step(residuals), params, target, limit=100)
    assert lm_steps is not None and lm_steps <= 15
    for _ in range(20):  # and stays there: later steps are tiny, or rejected once the loss cannot fall
        lm.step(residuals)
    assert [p.data for p in params] == pytest.approx(list(target), abs=1e-7)

    # Adam, on the same loss ½Σr², at three learning rates: each needs more than 10× as many steps.
    adam_steps = {}
    for lr in (0.01, 0.03, 0.1):
        params = [Value(v) for v in START]
        residuals = curve_residuals(*params)
        adam = Adam(params, lr=lr)

        def adam_step(adam=adam, residuals=residuals):
            adam.zero_grad()
            loss = Value(0.0)
            for r in residuals():
                loss = loss + 0.5 * r * r
            loss.backward()
            adam.step()

        adam_steps[lr] = steps_to_reach(adam_step, params, target, limit=20 * lm_steps)
    # None: not there after 20× LM's steps.
    assert all(n is None or n > 10 * lm_steps for n in adam_steps.values()), (lm_steps, adam_steps)


@pytest.mark.parametrize("seed", range(4))
def test_xor_2_2_1_sigmoid_network_below_1e_minus_6(seed):
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    Y = [0.0, 1.0, 1.0, 0.0]
    rng = random.Random(seed)
    model = Sequential(Layer(2, 2, "sigmoid", rng=rng), Layer(2, 1, "sigmoid", rng=rng))
    assert model.num_parameters() == 9

    def residuals():
        return [model(x) - y for x, y in zip(X, Y, strict=True)]

    opt = LevenbergMarquardt(model.parameters())
    losses = [opt.step(residuals) for _ in range(100)]
    final = 0.5 * sum(r.data**2 for r in residuals())
    assert final < 1e-6
    assert losses[0] > 0.1  # it started far from a fit
    assert all(later <= earlier for earlier, later in zip(losses, losses[1:], strict=False))


def tanh_residuals(a: Value, b: Value):
    """Gauss–Newton overshoots on tanh far from 0: from 1.5 it lands near -3.5, where |tanh| is larger."""
    return lambda: [a.tanh(), (b * 0.5).tanh()]


def test_a_rejected_step_leaves_every_parameter_untouched_bit_for_bit_and_raises_damping():
    a, b = Value(1.5), Value(3.1)
    a.grad, b.grad = 0.25, -7.0
    before = [(p.data.hex(), p.grad) for p in (a, b)]
    opt = LevenbergMarquardt([a, b], damping=1e-6)
    loss = opt.step(tanh_residuals(a, b))
    assert loss == 0.5 * (math.tanh(1.5) ** 2 + math.tanh(1.55) ** 2)
    assert opt.accepted is False
    assert [(p.data.hex(), p.grad) for p in (a, b)] == before
    assert opt.damping == pytest.approx(1e-5, rel=1e-12)
    assert opt.steps == 1
    # Rejections raise λ until the step is short enough to be accepted; then λ falls again.
    dampings = [opt.damping]  # λ before each step
    while opt.step(tanh_residuals(a, b)) and not opt.accepted:
        dampings.append(opt.damping)
    assert all(
        later == pytest.approx(10 * earlier) for earlier, later in zip(dampings, dampings[1:], strict=False)
    )
    assert opt.damping == pytest.approx(dampings[-1] * 0.1)  # the accepted step's λ, / 10
    assert 0.5 * (math.tanh(a.data) ** 2 + math.tanh(0.5 * b.data) ** 2) < loss  # lower now
    assert (a.grad, b.grad) == (0.25, -7.0)


def test_a_trial_point_where_the_residuals_fail_is_a_rejection():
    a = Value(1.0)
    opt = LevenbergMarquardt([a], damping=1e-9)
    loss = opt.step(lambda: [a.log() + 5.0])  # Gauss–Newton jumps to a = -4: log is undefined there
    assert loss == 12.5 and opt.accepted is False and a.data == 1.0
    assert opt.damping == pytest.approx(1e-8)


def test_accepted_step_shrinks_damping_down_to_the_floor_and_growth_stops_at_the_cap():
    a = Value(3.0)
    opt = LevenbergMarquardt([a], damping=1e-3)
    opt.step(lambda: [a - 1.0])
    assert opt.accepted is True and opt.damping == pytest.approx(1e-4)
    opt.damping = 2 * MIN_DAMPING
    opt.step(lambda: [a - 1.0])
    assert opt.damping == MIN_DAMPING
    opt.damping = MAX_DAMPING / 2
    b = Value(0.0)
    opt = LevenbergMarquardt([b], damping=MAX_DAMPING / 2)
    opt.step(lambda: [b * 0.0 + 1.0])  # nothing can lower this loss: rejected
    assert opt.accepted is False and opt.damping == MAX_DAMPING


def test_small_damping_is_gauss_newton_and_large_damping_is_gradient_descent():
    def one_step(damping):
        params = [Value(v) for v in START]
        residuals = curve_residuals(*params)
        r = residuals()
        J = np.array(jacobian(r, params))
        rv = np.array([ri.data for ri in r])
        opt = LevenbergMarquardt(params, damping=damping)
        opt.step(residuals)
        assert opt.accepted
        return np.array([p.data for p in params]) - np.array(START), J, rv

    delta, J, r = one_step(1e-12)
    assert delta == pytest.approx(np.linalg.solve(J.T @ J, -J.T @ r), rel=1e-9)
    delta, J, r = one_step(1e6)  # δ = −(JᵀJ + λI)⁻¹Jᵀr = −Jᵀr/λ + O(‖JᵀJ‖/λ²)
    assert delta == pytest.approx(-J.T @ r / 1e6, rel=1e-4)


def test_jacobian_rows_are_each_residuals_gradient_and_grads_are_restored():
    a, b, c = Value(1.2), Value(0.7), Value(-0.3)
    a.grad, b.grad, c.grad = 1.0, 2.0, 3.0
    x = Value(0.5)
    J = jacobian(curve_residuals(a, b, c)(), [a, b, c])
    expected = [[math.exp(-0.7 * t), -1.2 * t * math.exp(-0.7 * t), 1.0] for t in XS]
    assert np.array(J) == pytest.approx(np.array(expected), rel=1e-12, abs=1e-15)
    assert (a.grad, b.grad, c.grad) == (1.0, 2.0, 3.0)
    # A leaf outside params accumulates, as after any backward(): Σ_i ∂r_i/∂x.
    jacobian([a * x, b * x], [a, b])
    assert x.grad == pytest.approx(1.2 + 0.7)


def test_cholesky_solve_finds_a_known_solution():
    L = np.array([[2.0, 0, 0, 0], [1.0, 3.0, 0, 0], [-1.0, 2.0, 1.0, 0], [0.5, 0.0, -2.0, 4.0]])
    A = L @ L.T
    x = np.array([1.0, -2.0, 0.5, 3.0])
    assert cholesky_solve(A.tolist(), (A @ x).tolist()) == pytest.approx(x.tolist(), rel=1e-12)
    rng = np.random.default_rng(0)
    M = rng.normal(size=(8, 8))
    A = M @ M.T + 0.1 * np.eye(8)
    b = rng.normal(size=8)
    assert cholesky_solve(A.tolist(), b.tolist()) == pytest.approx(np.linalg.solve(A, b).tolist(), rel=1e-9)


@pytest.mark.parametrize(
    ("matrix", "rhs", "message"),
    [
        ([[1.0, 2.0], [2.0, 1.0]], [1.0, 1.0], r"not positive definite \(pivot 1 is -3.0\)"),
        ([[0.0]], [1.0], r"not positive definite \(pivot 0 is 0.0\)"),
        ([[math.nan]], [1.0], r"pivot 0 is nan"),
        ([[1.0, 0.0]], [1.0], "needs an n × n matrix"),
    ],
)
def test_cholesky_solve_refuses_what_it_cannot_solve(matrix, rhs, message):
    with pytest.raises(ValueError, match=message):
        cholesky_solve(matrix, rhs)


@pytest.mark.parametrize(
    ("damping", "error", "message"),
    [
        (0.0, ValueError, r"invalid damping: 0.0 \(must be positive and finite\)"),
        (-1.0, ValueError, r"invalid damping: -1.0"),
        (math.nan, ValueError, r"invalid damping: nan"),
        (math.inf, ValueError, r"invalid damping: inf"),
        ("1e-3", TypeError, "damping must be a real number, not str"),
        (True, TypeError, "damping must be a real number, not bool"),
    ],
)
def test_bad_damping(damping, error, message):
    with pytest.raises(error, match=message):
        LevenbergMarquardt([Value(1.0)], damping=damping)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ([], ValueError, "empty parameter list"),
        (Value(1.0), TypeError, "not a single Value"),
        ([1.0], TypeError, "parameter 0 is a float, not a Value"),
        (3, TypeError, "takes an iterable of Values, not int"),
    ],
)
def test_bad_parameters(params, error, message):
    with pytest.raises(error, match=message):
        LevenbergMarquardt(params)


def test_repeated_parameter():
    p = Value(1.0)
    with pytest.raises(ValueError, match="appears more than once"):
        LevenbergMarquardt([p, p])


def counting_residuals(a: Value, first: list, later: object):
    """Return ``first`` (residuals of ``a``) on the first call, ``later`` after that."""
    calls = []

    def residuals():
        calls.append(1)
        return first() if len(calls) == 1 else later

    return residuals


@pytest.mark.parametrize(
    ("result", "error", "message"),
    [
        (1.0, TypeError, "residuals\\(\\) must return a list of Values, not float"),
        ([], ValueError, "residuals\\(\\) returned an empty list"),
        ([1.0], TypeError, r"residuals\(\) item 0 is a float, not a Value"),
    ],
)
def test_bad_residuals_change_nothing(result, error, message):
    a = Value(2.0)
    opt = LevenbergMarquardt([a])
    with pytest.raises(error, match=message):
        opt.step(lambda: result)
    # The same check on the trial evaluation, after the parameters moved: they are put back.
    with pytest.raises(error, match=message):
        opt.step(counting_residuals(a, lambda: [a - 1.0], result))
    assert a.data == 2.0 and opt.damping == 1e-3 and opt.steps == 0 and opt.accepted is None


def test_residual_count_must_not_change_and_the_loss_must_be_finite():
    a = Value(2.0)
    opt = LevenbergMarquardt([a])
    with pytest.raises(ValueError, match=r"returned 1 residuals, then 2: the number must not change"):
        opt.step(counting_residuals(a, lambda: [a - 1.0], [a - 1.0, a]))
    assert a.data == 2.0
    with pytest.raises(ValueError, match="the loss at the current parameters is inf"):
        opt.step(lambda: [a * math.inf])
    with pytest.raises(TypeError, match="step takes a function that returns the residuals, not list"):
        opt.step([a - 1.0])
    assert a.data == 2.0 and opt.steps == 0


def test_state_dict_round_trip_and_checks():
    a = Value(3.0)
    opt = LevenbergMarquardt([a])
    opt.step(lambda: [a - 1.0])
    saved = opt.state_dict()
    assert saved == {"damping": pytest.approx(1e-4), "steps": 1}
    other = LevenbergMarquardt([Value(0.0)])
    other.load_state_dict(saved)
    assert other.state_dict() == saved
    for bad in ({"damping": 0.0, "steps": 1}, {"damping": 1.0, "steps": -1}, {"damping": 1.0}):
        with pytest.raises(ValueError, match="state_dict"):
            other.load_state_dict(bad)
    assert other.state_dict() == saved
    assert repr(other) == f"LevenbergMarquardt(1 parameters, damping={saved['damping']!r}, steps=1)"


def test_exported_from_nn_optim():
    assert nn.optim.LevenbergMarquardt is LevenbergMarquardt
    assert "LevenbergMarquardt" in nn.optim.__all__


def test_a_parameter_no_residual_depends_on_stays_exactly_where_it_is():
    """A zero column of J: with D = I its equation is λ·δ = 0, so no special case is needed."""
    a, unused = Value(3.0), Value(0.1 + 0.2)
    opt = LevenbergMarquardt([a, unused])
    for _ in range(3):
        opt.step(lambda: [a - 1.0, a * 2.0 - 2.0])
    assert opt.accepted and abs(a.data - 1.0) < 1e-9
    assert unused.data == 0.1 + 0.2


def test_damping_assignment_is_checked():
    opt = LevenbergMarquardt([Value(1.0)])
    opt.damping = 0.5
    assert opt.damping == 0.5
    with pytest.raises(ValueError, match=r"invalid damping: -1.0"):
        opt.damping = -1.0
    assert opt.damping == 0.5


def test_jacobian_checks_its_arguments():
    a = Value(1.0)
    with pytest.raises(TypeError, match=r"residuals\(\) item 0 is a float, not a Value"):
        jacobian([1.0], [a])
    with pytest.raises(TypeError, match="jacobian: parameter 0 is a float, not a Value"):
        jacobian([a * 2.0], [1.0])


def test_any_other_error_of_residuals_at_the_trial_point_propagates_and_changes_nothing():
    a = Value(2.0)
    calls = []

    def residuals():
        calls.append(1)
        if len(calls) > 1:
            raise KeyError("a bug in the user's function")
        return [a - 1.0]

    opt = LevenbergMarquardt([a])
    with pytest.raises(KeyError, match="a bug"):
        opt.step(residuals)
    assert a.data == 2.0 and opt.damping == 1e-3 and opt.steps == 0
