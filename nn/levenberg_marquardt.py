"""Levenberg–Marquardt: least squares with a Gauss–Newton step, damped towards gradient descent.

The problem
-----------
Levenberg–Marquardt (LM) solves *least-squares* problems: given residuals
``r_i(θ)`` (typically prediction − target for example ``i``), minimise::

    L(θ) = ½ Σ_i r_i(θ)²

It is a method for supervised fitting with a squared error, not a general
optimizer: a cross-entropy loss, or a loss that is not a sum of squares, has
no residuals to give it. (Adam is not a descendant of it either: Adam combines
momentum with RMSprop's per-parameter scaling of the gradient, and uses no
Jacobian and no curvature model.)

The Jacobian, one backward pass per row
---------------------------------------
``J[i][k] = ∂r_i/∂θ_k``. Reverse mode gives the gradient of *one* output with
respect to every input in one backward pass, so row ``i`` of ``J`` is what
``r_i.backward()`` leaves in the parameters' ``.grad`` (after zeroing them):
m residuals, m backward passes. (Forward mode would give one *column* per pass,
n passes: cheaper when there are fewer parameters than residuals, which the
engine does not offer.) The gradient of the loss is ``∇L = Jᵀr``.

Three steps δ from θ
--------------------
* Gradient descent: ``δ = −γ·Jᵀr``. Safe for small γ, slow in narrow valleys.
* Gauss–Newton: linearise ``r(θ + δ) ≈ r + J·δ`` and minimise
  ``½‖r + J·δ‖²`` exactly: the normal equations ``(JᵀJ)·δ = −Jᵀr``. ``JᵀJ`` is
  the Hessian of ``L`` without the terms ``r_i·∇²r_i``, so near a good fit
  (small residuals) this is almost Newton's method: few steps, fast
  convergence. Far from it, the linear model can be wrong and the step too
  long, and ``JᵀJ`` can be singular (more parameters than residuals, or a
  parameter no residual depends on).
* Levenberg–Marquardt: ``(JᵀJ + λ·I)·δ = −Jᵀr``. With λ → 0 this is
  Gauss–Newton; with λ large, ``δ ≈ −Jᵀr / λ``: gradient descent with step
  size ``1/λ``. Every λ > 0 makes the matrix positive definite, so the system
  always has a solution, and that solution is a descent direction.

λ decides between the two regimes, from what happened: after each step the
loss is evaluated at ``θ + δ``. If it fell, the step is *accepted* and λ
shrinks (×1/10: trust the quadratic model more, closer to Gauss–Newton).
If not, the step is *rejected*, θ stays exactly as it was, and λ grows
(×10: a shorter step, closer to gradient descent) for the next try.

The damping matrix: ``D = I`` here
----------------------------------
Marquardt (1963) proposed ``D = diag(JᵀJ)`` instead of Levenberg's (1944)
identity, which makes the step invariant to rescaling a parameter. This
class uses ``D = I``: the large-λ limit is then exactly gradient descent
(the picture notebook 13 draws), and a parameter no residual depends on (a
zero column of ``J``, so a zero diagonal entry of ``JᵀJ``) needs no special
case: its row of the system reads ``λ·δ_k = 0``, and it does not move.
λ stays within ``[MIN_DAMPING, MAX_DAMPING]`` (1e-12 and 1e16): far below
the first, ``JᵀJ + λ·I`` is numerically singular when ``JᵀJ`` is (XOR's 9
parameters and 4 residuals); far above the second, δ is 0 to machine
precision anyway.

The linear system is solved by :func:`cholesky_solve` (plain Python; the
matrix is n × n for n parameters, fine for the small models here).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from autograd import Value, no_grad

from .checks import distinct_values, leaf_parameters

__all__ = ["MAX_DAMPING", "MIN_DAMPING", "LevenbergMarquardt", "cholesky_solve", "jacobian"]

#: λ never shrinks below this (a smaller starting λ is kept until a step is rejected).
MIN_DAMPING = 1e-12
#: λ never grows above this.
MAX_DAMPING = 1e16

Residuals = Callable[[], Sequence[Value]]


def jacobian(residuals: Sequence[Value], params: Sequence[Value]) -> list[list[float]]:
    """``J[i][k] = ∂residuals[i]/∂params[k]``: one ``backward()`` per residual.

    Before each pass the parameters' ``.grad`` are set to 0, so that each row
    holds one residual's gradient; afterwards they are put back as they were.
    Leaves that are not in ``params`` (inputs given as ``Value``\\ s, say)
    accumulate, as after any ``backward()``: they end up holding ``Σ_i ∂r_i/∂x``.

    >>> a, b = Value(2.0), Value(3.0)
    >>> jacobian([a * b, a + 1.0], [a, b])
    [[3.0, 2.0], [1.0, 0.0]]
    """
    residuals = _checked(residuals, None)
    params = distinct_values(params, "jacobian")
    saved = [p.grad for p in params]
    rows = []
    try:
        for r in residuals:
            for p in params:
                p.grad = 0.0
            r.backward()
            rows.append([p.grad for p in params])
    finally:
        for p, g in zip(params, saved, strict=True):
            p.grad = g
    return rows


def cholesky_solve(matrix: Sequence[Sequence[float]], rhs: Sequence[float]) -> list[float]:
    """Solve ``matrix · x = rhs`` for a symmetric positive-definite ``matrix``, by Cholesky.

    The matrix is factored as ``L·Lᵀ`` (``L`` lower triangular, positive
    diagonal), then ``L·y = rhs`` is solved forwards and ``Lᵀ·x = y``
    backwards. Only the lower triangle of ``matrix`` is read. A matrix that is
    not positive definite (a pivot ``≤ 0``), or holds NaN or inf, raises
    ``ValueError``; so does a shape mismatch.

    >>> cholesky_solve([[4.0, 2.0], [2.0, 2.0]], [2.0, 0.0])
    [1.0, -1.0]
    """
    n = len(rhs)
    if len(matrix) != n or any(len(row) != n for row in matrix):
        raise ValueError(f"cholesky_solve needs an n × n matrix and n right-hand sides (n = {n})")
    lower = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = matrix[i][j] - sum(lower[i][k] * lower[j][k] for k in range(j))
            if i == j:
                if not (s > 0.0 and math.isfinite(s)):
                    raise ValueError(f"matrix is not positive definite (pivot {i} is {s!r})")
                lower[i][i] = math.sqrt(s)
            else:
                lower[i][j] = s / lower[j][j]
    y = [0.0] * n
    for i in range(n):
        y[i] = (rhs[i] - sum(lower[i][k] * y[k] for k in range(i))) / lower[i][i]
    x = [0.0] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - sum(lower[k][i] * x[k] for k in range(i + 1, n))) / lower[i][i]
    return x


def _damping(value: object, name: str = "damping") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
    value = float(value)
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"invalid {name}: {value!r} (must be positive and finite)")
    return value


def _half_sum_of_squares(residuals: Iterable[Value]) -> float:
    return 0.5 * sum(r.data * r.data for r in residuals)


def _checked(residuals: object, count: int | None) -> list[Value]:
    """What ``residuals()`` returned, checked: a non-empty list of Values (``count`` of them, if given)."""
    if not isinstance(residuals, (list, tuple)):
        raise TypeError(f"residuals() must return a list of Values, not {type(residuals).__name__}")
    if not residuals:
        raise ValueError("residuals() returned an empty list: there is nothing to fit")
    for i, r in enumerate(residuals):
        if not isinstance(r, Value):
            raise TypeError(f"residuals() item {i} is a {type(r).__name__}, not a Value")
    if count is not None and len(residuals) != count:
        raise ValueError(
            f"residuals() returned {count} residuals, then {len(residuals)}: the number must not change"
        )
    return list(residuals)


class LevenbergMarquardt:
    """Levenberg–Marquardt for ``L = ½ Σ r_i²`` (see the module docstring): ``opt.step(residuals)``.

    ``residuals`` is a function of no arguments that computes the residuals
    from the parameters' current ``.data`` and returns them as a non-empty
    list of ``Value``\\ s (always the same number of them). Each ``step``:

    1. computes ``r = residuals()`` and the loss ``L = ½ Σ r_i²``;
    2. builds ``J`` with one backward pass per residual (:func:`jacobian`;
       the parameters' ``.grad`` are left as they were);
    3. solves ``(JᵀJ + λ·I)·δ = −Jᵀr`` (:func:`cholesky_solve`);
    4. evaluates the residuals at ``θ + δ`` (under ``no_grad``). If the loss
       fell, keeps ``θ + δ`` and sets ``λ ← λ/10``; otherwise (the loss did
       not fall, is NaN, or the residuals could not be computed there: an
       overflow, the log of a negative number, ...) puts back every
       parameter's ``.data`` exactly and sets ``λ ← 10·λ``.

    It returns the loss at the parameters the step *started* from (as
    PyTorch's ``step(closure)``). ``opt.damping`` is the current λ,
    ``opt.accepted`` says whether the last step was kept, ``opt.steps``
    counts the steps (accepted or not).

    Why not a subclass of ``nn.optim.Optimizer``: that base class is built
    around a learning rate (which the schedules change) and a per-parameter
    update ``_update(i, x, g)`` from each parameter's own gradient. LM has no
    learning rate, and its update couples every parameter through one linear
    system built from a Jacobian, not from ``.grad``; ``step`` takes the
    residual function, not an optional closure. Inheriting would offer an
    ``lr`` that means nothing and let a schedule "change" it. The parts that
    do carry over are here with the same names: ``params``, ``steps``,
    ``zero_grad()``, ``state_dict()`` and ``load_state_dict()`` (of λ and the
    step count).

    >>> a = Value(0.0)                  # fit y = a·x to points on y = 2x: r_i = a·x_i − y_i
    >>> def residuals():
    ...     return [a * x - y for x, y in [(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)]]
    >>> opt = LevenbergMarquardt([a])
    >>> for _ in range(3):
    ...     print(f"loss {opt.step(residuals):.2g} -> a = {a.data:.9f}, λ = {opt.damping:.0e}")
    loss 28 -> a = 1.999857153, λ = 1e-04
    loss 1.4e-07 -> a = 1.999999999, λ = 1e-05
    loss 7.3e-18 -> a = 2.000000000, λ = 1e-06
    """

    #: λ is multiplied by this after an accepted step ...
    DECREASE = 0.1
    #: ... and by this after a rejected one.
    INCREASE = 10.0

    def __init__(self, params: Iterable[Value], damping: float = 1e-3) -> None:
        params = leaf_parameters(params, "LevenbergMarquardt")
        if not params:
            raise ValueError("LevenbergMarquardt got an empty parameter list")
        self.params: list[Value] = params
        self._damping = _damping(damping)
        self.steps = 0
        #: Whether the last step was kept (None before the first step).
        self.accepted: bool | None = None

    @property
    def damping(self) -> float:
        """The current λ (positive and finite; assigning anything else is an error)."""
        return self._damping

    @damping.setter
    def damping(self, value: float) -> None:
        self._damping = _damping(value)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0 (``step`` itself does not need it)."""
        for p in self.params:
            p.grad = 0.0

    def step(self, residuals: Residuals) -> float:
        """One Levenberg–Marquardt step (see the class docstring); returns the loss before it."""
        if not callable(residuals):
            raise TypeError(
                f"step takes a function that returns the residuals, not {type(residuals).__name__}"
            )
        r = _checked(residuals(), None)
        loss = _half_sum_of_squares(r)
        if not math.isfinite(loss):
            raise ValueError(f"the loss at the current parameters is {loss!r}: nothing to improve from")
        J = jacobian(r, self.params)
        for i, row in enumerate(J):
            if not all(math.isfinite(g) for g in row):
                raise ValueError(f"the gradient of residual {i} is not finite: {row!r}")
        delta = self._solve(J, [ri.data for ri in r])
        self.accepted = delta is not None and self._try(delta, residuals, len(r), loss)
        self.steps += 1
        if self.accepted:
            self.damping = max(self.damping * self.DECREASE, min(self.damping, MIN_DAMPING))
        else:
            self.damping = min(self.damping * self.INCREASE, MAX_DAMPING)
        return loss

    def _solve(self, J: list[list[float]], r: list[float]) -> list[float] | None:
        """δ from ``(JᵀJ + λ·I)·δ = −Jᵀr``; None if the system cannot be solved in floating point."""
        n = len(self.params)
        columns = list(zip(*J, strict=True))
        system = [[sum(a * b for a, b in zip(ci, cj, strict=True)) for cj in columns] for ci in columns]
        for i in range(n):
            system[i][i] += self.damping
        minus_gradient = [-sum(a * b for a, b in zip(columns[i], r, strict=True)) for i in range(n)]
        try:
            delta = cholesky_solve(system, minus_gradient)
        except ValueError:
            return None
        return delta if all(math.isfinite(d) for d in delta) else None

    def _try(self, delta: list[float], residuals: Residuals, count: int, loss: float) -> bool:
        """Move to θ + δ and keep it if the loss fell there; otherwise restore θ bit for bit."""
        before = [p.data for p in self.params]
        for p, x, d in zip(self.params, before, delta, strict=True):
            p.data = x + d
        try:
            try:
                with no_grad():
                    new = residuals()
            except (ArithmeticError, ValueError):  # overflow, log of a negative number, ...: too far
                new = None
            new_loss = math.nan if new is None else _half_sum_of_squares(_checked(new, count))
        except BaseException:  # a bad return value, or any other error of residuals(): change nothing
            self._restore(before)
            raise
        if new_loss < loss:
            return True
        self._restore(before)
        return False

    def _restore(self, before: list[float]) -> None:
        for p, x in zip(self.params, before, strict=True):
            p.data = x

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """``damping`` (λ) and ``steps``: what changes while fitting."""
        return {"damping": self.damping, "steps": self.steps}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` saved (checked in full before anything changes)."""
        if not isinstance(state_dict, dict) or set(state_dict) != {"damping", "steps"}:
            raise ValueError("state_dict must be a dict with the keys 'damping' and 'steps'")
        damping = _damping(state_dict["damping"], "state_dict['damping']")
        steps = state_dict["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"state_dict['steps'] must be an int >= 0, not {steps!r}")
        self.damping, self.steps = damping, steps

    def __repr__(self) -> str:
        return (
            f"LevenbergMarquardt({len(self.params)} parameters, damping={self.damping!r}, steps={self.steps})"
        )
