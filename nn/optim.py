"""Optimizers, gradient clipping and learning-rate schedules.

After ``loss.backward()`` every parameter ``p`` holds ``p.grad = dL/dp``. An
*optimizer* turns those gradients into a change of ``p.data``; a training loop
repeats four lines::

    optimizer = Adam(model.parameters(), lr=1e-3)
    scheduler = CosineAnnealingLR(optimizer, T_max=100)   # optional
    for x, y in data:
        optimizer.zero_grad()      # gradients accumulate: start each step from 0
        loss = loss_fn(model(x), y)
        loss.backward()            # fill p.grad
        clip_grad_norm_(model.parameters(), max_norm=1.0)  # optional
        optimizer.step()           # p.data <- p.data - (something built from p.grad)
    scheduler.step()               # once per epoch: change optimizer.lr

The simplest rule is gradient descent, ``θ ← θ - γ g``: move each parameter a
small step (the *learning rate* γ) against its gradient ``g``, downhill. The
other optimizers keep a little *state* per parameter (running averages of
``g`` and ``g²``, a previous gradient, ...) to choose a better step: momentum
smooths the direction, Adagrad / RMSprop / Adam scale each parameter's step by
the size of its recent gradients, Rprop uses only the gradient's sign.

Updates write ``p.data`` directly, as plain floats: nothing is recorded in the
graph, so an update never becomes part of the next backward pass. (PyTorch
gets the same effect by running ``step()`` under ``torch.no_grad()``; here
there is simply no ``Value`` arithmetic involved.) The state lives in plain
lists aligned with ``optimizer.params``: ``optimizer.exp_avg[i]`` belongs to
``optimizer.params[i]``.

Agreement with PyTorch
----------------------
Names, defaults and update rules are those of ``torch.optim`` 2.13, and each
``step`` does the arithmetic of PyTorch's single-tensor (for-loop)
implementation in the same order. The results still differ in the last bits:
PyTorch's CPU kernels fuse ``a + b*c`` into one rounding (FMA) and its
vectorised ``sqrt`` is not always correctly rounded, while Python rounds each
operation. On the tests' problem the trajectories agree to about 1e-15
(relative) over 50 steps; the tests ask for 1e-9. PyTorch's *parameter groups* (different hyper-parameters for
different parameters) are not modelled: an optimizer has one ``lr`` attribute,
which the learning-rate schedules below change.

NaN and infinite gradients propagate as they do in PyTorch (the helpers
``_div``, ``_sqrt``, ``_maximum`` and ``_clamp`` give IEEE results where
plain Python would raise or drop a NaN). One PyTorch rule is surprising:
``torch.sign(nan)`` is 0, so Rprop does not move a parameter whose gradient
is NaN; ``_sign`` does the same.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from autograd import Value

from .checks import finite_float, int_at_least, leaf_parameters, value_list

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LevenbergMarquardt",
    "Optimizer",
    "RMSprop",
    "Rprop",
    "StepLR",
    "clip_grad_norm_",
    "clip_grad_value_",
]


# ============================================================================
# Validation of hyper-parameters: every check names the argument it rejects.
# ============================================================================


def _real(name: str, value: object) -> float:
    """``value`` as a float; TypeError unless it is a real number (bools are not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
    return float(value)


def _at_least_zero(name: str, value: object) -> float:
    """A real number ``>= 0`` (NaN is rejected too: ``nan >= 0`` is False)."""
    x = _real(name, value)
    if not x >= 0.0:
        raise ValueError(f"invalid {name}: {x!r} (must be >= 0)")
    return x


def _positive_finite(name: str, value: object) -> float:
    """A real number ``> 0`` and finite (a schedule's factor: inf would make 0·inf = NaN)."""
    x = _real(name, value)
    if not 0.0 < x < math.inf:
        raise ValueError(f"invalid {name}: {x!r} (must be > 0 and finite)")
    return x


def _fraction(name: str, value: object, *, one_allowed: bool) -> float:
    """A real number in [0, 1), or in [0, 1] when ``one_allowed``."""
    x = _real(name, value)
    if not (0.0 <= x <= 1.0 and (one_allowed or x < 1.0)):
        interval = "[0, 1]" if one_allowed else "[0, 1)"
        raise ValueError(f"invalid {name}: {x!r} (must be in {interval})")
    return x


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {type(value).__name__}")
    return value


def _pair(name: str, value: object) -> tuple[float, float]:
    """Two real numbers, given as a tuple or list of length 2."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair of numbers (a tuple of length 2), not {value!r}")
    return _real(f"{name}[0]", value[0]), _real(f"{name}[1]", value[1])


def _check_keys(where: str, state: object, expected: tuple[str, ...]) -> None:
    """``state`` must be a dict with exactly the keys ``expected``; the error names the odd ones."""
    if not isinstance(state, dict):
        raise TypeError(f"{where} must be a dict with the keys {list(expected)}, not {type(state).__name__}")
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        problems = [f"{kind} key(s) {', '.join(map(repr, keys))}"
                    for kind, keys in (("missing", missing), ("unexpected", unexpected)) if keys]
        raise ValueError(f"{where}: {'; '.join(problems)} (expected {list(expected)})")


# ============================================================================
# IEEE-style float helpers: NaN and inf propagate as in PyTorch's tensor ops.
# ============================================================================


def _div(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics: ``x/0`` is ±inf (``0/0`` is NaN) instead of an error."""
    if b != 0.0:
        return a / b
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _sqrt(x: float) -> float:
    """``√x``; NaN for a negative ``x`` (``math.sqrt`` would raise)."""
    return math.sqrt(x) if x >= 0.0 else math.nan


def _maximum(a: float, b: float) -> float:
    """``max(a, b)`` that returns NaN if either is NaN, as ``torch.maximum``."""
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return a if a >= b else b


def _clamp(x: float, low: float, high: float) -> float:
    """``x`` limited to ``[low, high]``; NaN stays NaN, as ``torch.clamp``."""
    if x < low:
        return low
    if x > high:
        return high
    return x


def _sign(x: float) -> float:
    """-1.0, 0.0 or 1.0, as ``torch.sign`` on the CPU, which also gives 0.0 for NaN."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0


def _lerp(start: float, end: float, weight: float) -> float:
    """``start + weight·(end - start)``, in PyTorch's two-sided form.

    For ``weight >= 0.5`` PyTorch computes ``end - (end - start)·(1 - weight)``
    instead: the same number mathematically, with a smaller rounding error.
    """
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


# ============================================================================
# Optimizers
# ============================================================================


class Optimizer:
    """What every optimizer shares: the parameters, ``lr``, ``zero_grad`` and the state.

    The parameters are leaves (``model.parameters()``, or ``Value`` objects you
    made): a ``Value`` computed by an operation is refused, as in PyTorch,
    since the next forward pass would overwrite whatever a step wrote into it.

    A subclass validates its hyper-parameters, creates its per-parameter state
    lists (named in ``_state_names``) and implements ``_update(i, p, g)``:
    the new ``p.data`` for parameter ``i`` from its gradient ``g`` (already
    negated when ``maximize``). ``step()`` counts the step in ``self.steps``
    (t = 1, 2, ... in the formulas) and calls ``_update`` for every parameter.
    ``load_state_dict`` checks each state entry is a finite number, ``>= 0``
    for the lists in ``_nonnegative_state`` (sums of squares, step sizes),
    and also accepts ``None`` in those of ``_optional_state`` (not started).
    """

    _state_names: tuple[str, ...] = ()
    _nonnegative_state: tuple[str, ...] = ()
    _optional_state: tuple[str, ...] = ()
    #: The L2 penalty λ that :meth:`_l2` adds; set by each subclass that offers ``weight_decay``.
    weight_decay: float

    def __init__(self, params: Iterable[Value], lr: float, maximize: bool = False) -> None:
        name = type(self).__name__
        params = leaf_parameters(params, name)
        lr = _at_least_zero("lr", lr)
        maximize = _flag("maximize", maximize)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        self.params: list[Value] = params
        self._lr = lr
        self.maximize = maximize
        self.steps = 0

    @property
    def lr(self) -> float:
        """The learning rate γ. Schedules (``StepLR``, ...) assign to it between steps."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _at_least_zero("lr", value)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0.0.

        ``backward()`` *adds* to a leaf's ``.grad`` (so that a parameter used
        twice receives both contributions), which also means gradients from
        the previous step are still there: clear them before each backward.
        """
        for p in self.params:
            p.grad = 0.0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter once from its ``.grad``; return ``closure()`` if given.

        ``closure``, as in PyTorch, is a function that re-evaluates the model
        (zero_grad, forward, backward) and returns the loss; it is called
        before the update.
        """
        loss = None if closure is None else closure()
        self.steps += 1
        for i, p in enumerate(self.params):
            # float(): a NumPy float32 gradient or weight would make the update,
            # the state and every later graph float32 (NumPy 2 keeps float32).
            g = -float(p.grad) if self.maximize else float(p.grad)
            p.data = self._update(i, float(p.data), g)
        return loss

    def _update(self, i: int, x: float, g: float) -> float:
        """The new value of parameter ``i`` (value ``x``, gradient ``g``); updates its state."""
        raise NotImplementedError

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """A copy of everything that changes while training: ``lr``, ``steps`` and the state lists.

        Saving it and later calling ``load_state_dict`` on an optimizer built
        with the same parameters and hyper-parameters resumes training exactly.
        """
        return {
            "lr": self.lr,
            "steps": self.steps,
            "state": {name: list(getattr(self, name)) for name in self._state_names},
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` saved.

        Everything is checked before anything changes, and a refusal names the
        key: the keys must be those :meth:`state_dict` writes, ``steps`` an
        int ``>= 0``, each state list one finite number per parameter (``>= 0``
        for sums of squares and step sizes; ``None`` only where the optimizer
        itself keeps it, e.g. SGD's momentum buffers before the first step).
        Wrong types raise ``TypeError``, wrong values ``ValueError``, a number
        too large for a float ``OverflowError``; the optimizer is then left as
        it was. Numbers are stored as Python floats.
        """
        _check_keys("state_dict", state_dict, ("lr", "steps", "state"))
        lr = _at_least_zero("state_dict['lr']", state_dict["lr"])
        steps = state_dict["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int):
            raise TypeError(f"state_dict['steps'] must be an int, not {type(steps).__name__}")
        if steps < 0:
            raise ValueError(f"state_dict['steps'] must be >= 0, not {steps!r}")
        state = state_dict["state"]
        _check_keys("state_dict['state']", state, self._state_names)
        loaded = {name: self._state_list(name, state[name]) for name in self._state_names}
        self._lr = lr
        self.steps = steps
        for name, values in loaded.items():
            setattr(self, name, values)

    def _state_list(self, name: str, values: object) -> list[float | None]:
        """One saved state list, checked and converted to Python floats (see :meth:`load_state_dict`)."""
        where = f"state_dict['state'][{name!r}]"
        if not isinstance(values, list):
            raise TypeError(f"{where} must be a list, not {type(values).__name__}")
        if len(values) != len(self.params):
            raise ValueError(f"{where} must hold {len(self.params)} numbers, not {len(values)}")
        checked: list[float | None] = []
        for i, v in enumerate(values):
            if v is None and name in self._optional_state:
                checked.append(None)
                continue
            x = finite_float(v, f"{where}[{i}]")
            if x < 0.0 and name in self._nonnegative_state:
                raise ValueError(f"{where}[{i}] is {x!r}: a second moment or step size is never negative")
            checked.append(x)
        return checked

    def _l2(self, g: float, x: float) -> float:
        """The gradient with L2 weight decay: ``g + λ·x`` (the gradient of ``L + λ/2·x²``)."""
        return g + self.weight_decay * x if self.weight_decay != 0.0 else g

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr!r}, steps={self.steps})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

    For each parameter θ with gradient g, at step t = 1, 2, ...::

        g ← g + λ·θ                        if weight_decay λ ≠ 0 (L2 penalty)
        if momentum μ ≠ 0:
            b ← g                          at t = 1
            b ← μ·b + (1 - τ)·g            after that (τ = dampening)
            g ← g + μ·b  if nesterov, else  g ← b
        θ ← θ - γ·g                        (γ = lr)

    Plain SGD steps downhill in proportion to the slope. *Momentum* keeps a
    velocity ``b``: an exponentially weighted sum of past gradients, so steps
    grow along directions where the gradient keeps its sign and cancel where
    it oscillates. *Dampening* scales down the new gradient's share of it.
    *Nesterov* momentum looks one step ahead: it steps with ``g + μ·b``, the
    velocity corrected by the gradient at the current point. *Weight decay*
    adds ``λ·θ``, the gradient of the penalty ``λ/2·θ²``, pulling weights to 0.
    With ``maximize=True`` the gradient is negated first (gradient ascent).

    State: ``momentum_buffer[i]`` (``None`` until the first step).
    """

    _state_names = ("momentum_buffer",)
    _optional_state = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        momentum = _at_least_zero("momentum", momentum)
        dampening = _fraction("dampening", dampening, one_allowed=True)
        weight_decay = _at_least_zero("weight_decay", weight_decay)
        nesterov = _flag("nesterov", nesterov)
        if nesterov and (momentum == 0.0 or dampening != 0.0):
            raise ValueError("nesterov momentum requires a momentum > 0 and zero dampening")
        super().__init__(params, lr, maximize)
        self.momentum = momentum
        self.dampening = dampening
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.momentum_buffer: list[float | None] = [None] * len(self.params)

    def _update(self, i: int, x: float, g: float) -> float:
        g = self._l2(g, x)
        if self.momentum != 0.0:
            buf = self.momentum_buffer[i]
            buf = g if buf is None else buf * self.momentum + (1.0 - self.dampening) * g
            self.momentum_buffer[i] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        return x - self.lr * g


class Adagrad(Optimizer):
    """Adagrad: each parameter's step is divided by the root of its summed squared gradients.

    For each parameter θ with gradient g, at step t::

        g ← g + λ·θ                        if weight_decay λ ≠ 0
        γ_t = γ / (1 + (t - 1)·η)          (η = lr_decay)
        s ← s + g²                         (s starts at initial_accumulator_value)
        θ ← θ - γ_t · g / (√s + ε)

    ``s`` remembers how much each parameter has moved so far: parameters with
    large or frequent gradients get smaller steps, rarely-updated ones keep
    large steps. Because ``s`` only grows, the effective step size shrinks
    forever, which is what RMSprop and Adam change. ``ε`` keeps the division
    finite while ``s`` is still 0.

    State: ``sum[i]`` (the accumulator ``s``).
    """

    _state_names = ("sum",)
    _nonnegative_state = ("sum",)

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        lr_decay = _at_least_zero("lr_decay", lr_decay)
        weight_decay = _at_least_zero("weight_decay", weight_decay)
        initial_accumulator_value = _at_least_zero("initial_accumulator_value", initial_accumulator_value)
        eps = _at_least_zero("eps", eps)
        super().__init__(params, lr, maximize)
        self.lr_decay = lr_decay
        self.weight_decay = weight_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps
        self.sum: list[float] = [initial_accumulator_value] * len(self.params)

    def _update(self, i: int, x: float, g: float) -> float:
        g = self._l2(g, x)
        clr = self.lr / (1.0 + (self.steps - 1) * self.lr_decay)
        s = self.sum[i] + g * g
        self.sum[i] = s
        return x - _div(clr * g, math.sqrt(s) + self.eps)


class RMSprop(Optimizer):
    """RMSprop: divide the step by the root of a *running average* of squared gradients.

    For each parameter θ with gradient g, at step t::

        g ← g + λ·θ                        if weight_decay λ ≠ 0
        v ← α·v + (1 - α)·g²               (mean square, v starts at 0)
        if centered:
            m ← α·m + (1 - α)·g            (mean, m starts at 0)
            d ← √(v - m²) + ε              (standard deviation of g)
        else:
            d ← √v + ε                     (root mean square of g)
        if momentum μ > 0:
            b ← μ·b + g/d                  (b starts at 0)
            θ ← θ - γ·b
        else:
            θ ← θ - γ·g/d

    Like Adagrad, each parameter's step is scaled by the typical size of its
    gradient, but the average forgets old gradients (``α`` close to 1 is a
    long memory), so the step size does not decay to 0. ``centered``
    subtracts the squared mean: it normalises by the gradient's variance
    rather than its second moment.

    State: ``square_avg[i]`` (v), ``grad_avg[i]`` (m, used when centered) and
    ``momentum_buffer[i]`` (b, used with momentum).
    """

    _state_names = ("square_avg", "grad_avg", "momentum_buffer")
    _nonnegative_state = ("square_avg",)

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        alpha = _fraction("alpha", alpha, one_allowed=True)
        eps = _at_least_zero("eps", eps)
        weight_decay = _at_least_zero("weight_decay", weight_decay)
        momentum = _at_least_zero("momentum", momentum)
        centered = _flag("centered", centered)
        super().__init__(params, lr, maximize)
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.centered = centered
        n = len(self.params)
        self.square_avg: list[float] = [0.0] * n
        self.grad_avg: list[float] = [0.0] * n
        self.momentum_buffer: list[float] = [0.0] * n

    def _update(self, i: int, x: float, g: float) -> float:
        g = self._l2(g, x)
        alpha = self.alpha
        v = self.square_avg[i] * alpha + (1.0 - alpha) * g * g
        self.square_avg[i] = v
        if self.centered:
            m = _lerp(self.grad_avg[i], g, 1.0 - alpha)
            self.grad_avg[i] = m
            d = _sqrt(v - m * m) + self.eps
        else:
            d = _sqrt(v) + self.eps
        if self.momentum > 0.0:
            b = self.momentum_buffer[i] * self.momentum + _div(g, d)
            self.momentum_buffer[i] = b
            return x - self.lr * b
        return x - _div(self.lr * g, d)


class Adam(Optimizer):
    """Adam: momentum on the gradient, RMSprop scaling, and a correction for the zero start.

    For each parameter θ with gradient g, at step t = 1, 2, ...::

        θ ← θ·(1 - γ·λ)                    if decoupled_weight_decay (AdamW)
        g ← g + λ·θ                        else, if weight_decay λ ≠ 0
        m ← β₁·m + (1 - β₁)·g              first moment: running mean of g
        v ← β₂·v + (1 - β₂)·g²             second moment: running mean of g²
        v̂ ← max(v̂, v) if amsgrad, else v̂ ← v
        m̂ = m / (1 - β₁ᵗ)                  bias corrections: m and v start at 0,
        ṽ = v̂ / (1 - β₂ᵗ)                  so early averages are too small
        θ ← θ - γ·m̂ / (√ṽ + ε)

    The step is "the smoothed gradient, in units of its typical size": about
    γ in magnitude whatever the scale of the loss, which makes ``lr`` easy to
    choose. Dividing by ``1 - βᵗ`` undoes the pull towards the initial 0 (at
    t = 1 it gives m̂ = g exactly). *AMSGrad* divides by the largest ``v`` so
    far, so a parameter's step size never grows. PyTorch computes the last
    line as ``θ - (γ/(1-β₁ᵗ))·m / (√v̂/√(1-β₂ᵗ) + ε)``, and so does this code.

    Weight decay as an L2 penalty (``g + λθ``) is also divided by ``√ṽ``:
    parameters with large gradients are decayed less. AdamW instead shrinks θ
    directly ("decoupled" weight decay); ``decoupled_weight_decay=True``
    makes ``Adam`` behave as ``AdamW``.

    State: ``exp_avg[i]`` (m), ``exp_avg_sq[i]`` (v) and ``max_exp_avg_sq[i]``
    (the running maximum, used with amsgrad).
    """

    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _nonnegative_state = ("exp_avg_sq", "max_exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        beta1, beta2 = _pair("betas", betas)
        _fraction("betas[0]", beta1, one_allowed=False)
        _fraction("betas[1]", beta2, one_allowed=False)
        eps = _at_least_zero("eps", eps)
        weight_decay = _at_least_zero("weight_decay", weight_decay)
        amsgrad = _flag("amsgrad", amsgrad)
        decoupled_weight_decay = _flag("decoupled_weight_decay", decoupled_weight_decay)
        super().__init__(params, lr, maximize)
        self.betas = (beta1, beta2)
        self.eps = eps
        self.weight_decay = weight_decay
        self.amsgrad = amsgrad
        self.decoupled_weight_decay = decoupled_weight_decay
        n = len(self.params)
        self.exp_avg: list[float] = [0.0] * n
        self.exp_avg_sq: list[float] = [0.0] * n
        self.max_exp_avg_sq: list[float] = [0.0] * n

    def _update(self, i: int, x: float, g: float) -> float:
        beta1, beta2 = self.betas
        if self.weight_decay != 0.0:
            if self.decoupled_weight_decay:
                x = x * (1.0 - self.lr * self.weight_decay)
            else:
                g = g + self.weight_decay * x
        m = _lerp(self.exp_avg[i], g, 1.0 - beta1)
        v = self.exp_avg_sq[i] * beta2 + (1.0 - beta2) * g * g
        self.exp_avg[i] = m
        self.exp_avg_sq[i] = v
        if self.amsgrad:
            v = _maximum(self.max_exp_avg_sq[i], v)
            self.max_exp_avg_sq[i] = v
        step_size = self.lr / (1.0 - beta1**self.steps)
        bias_correction2_sqrt = (1.0 - beta2**self.steps) ** 0.5
        denom = _sqrt(v) / bias_correction2_sqrt + self.eps
        return x - _div(step_size * m, denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``θ ← θ·(1 - γλ)`` before the Adam step.

    See :class:`Adam` for the algorithm. The difference is where weight decay
    enters: Adam's L2 penalty ``g + λθ`` goes through the moment estimates and
    is divided by ``√ṽ`` like the rest of the gradient; AdamW shrinks every
    weight by the same factor ``1 - γλ`` and leaves the adaptive step to the
    loss alone. Note the default ``weight_decay=1e-2`` (Adam's is 0).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True
        )


class Rprop(Optimizer):
    """Rprop (resilient backpropagation): a step size per parameter, adapted from gradient signs.

    Each parameter θ has its own step size Δ (starting at ``lr``) and the
    gradient of the previous step g' (starting at 0). At each step::

        if g·g' > 0:  Δ ← min(Δ·η₊, Δ_max)      same sign as last time: speed up
        if g·g' < 0:  Δ ← max(Δ·η₋, Δ_min)      sign flipped (we jumped over a
                      g ← 0                      minimum): slow down, and skip
                                                 this step
        θ ← θ - sign(g)·Δ
        g' ← g

    Only the *sign* of the gradient is used, never its size, so Rprop is
    insensitive to the scale of the loss. It is meant for full-batch
    training: with noisy mini-batch gradients the signs flip at random.
    (``etas = (η₋, η₊)``, ``step_sizes = (Δ_min, Δ_max)``.)

    State: ``prev[i]`` (g') and ``step_size[i]`` (Δ). As in PyTorch the step
    sizes are set to ``lr`` at the first step, so a change of ``lr`` before it
    counts; later changes of ``lr`` have no effect.
    """

    _state_names = ("prev", "step_size")
    _nonnegative_state = ("step_size",)

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        maximize: bool = False,
    ) -> None:
        eta_minus, eta_plus = _pair("etas", etas)
        if not 0.0 < eta_minus < 1.0 < eta_plus:
            raise ValueError(f"invalid etas: {etas!r} (must satisfy 0 < etas[0] < 1 < etas[1])")
        step_min, step_max = _pair("step_sizes", step_sizes)
        if not 0.0 <= step_min <= step_max:
            raise ValueError(f"invalid step_sizes: {step_sizes!r} (must satisfy 0 <= min <= max)")
        super().__init__(params, lr, maximize)
        self.etas = (eta_minus, eta_plus)
        self.step_sizes = (step_min, step_max)
        n = len(self.params)
        self.prev: list[float] = [0.0] * n
        self.step_size: list[float] = [self.lr] * n

    def _update(self, i: int, x: float, g: float) -> float:
        eta_minus, eta_plus = self.etas
        if self.steps == 1:
            self.step_size[i] = self.lr
        agreement = g * self.prev[i]
        if agreement > 0.0:
            factor = eta_plus
        elif agreement < 0.0:
            factor = eta_minus
            g = 0.0
        else:  # 0 (first step, or a zero gradient), or NaN: sign() is 0 for both
            factor = 1.0
        step_size = _clamp(self.step_size[i] * factor, *self.step_sizes)
        self.step_size[i] = step_size
        self.prev[i] = g
        return x - _sign(g) * step_size


# ============================================================================
# Gradient clipping
# ============================================================================


def _grad_params(params: Value | Iterable[Value], who: str) -> list[Value]:
    """One ``Value`` or an iterable of them, as a list."""
    return value_list(params, who, single=True)


def _abs_power(x: float, p: float) -> float:
    """``|x|^p``, inf on overflow (Python's ``**`` raises OverflowError instead)."""
    try:
        return abs(x) ** p
    except OverflowError:
        return math.inf


def clip_grad_norm_(
    parameters: Value | Iterable[Value],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    All gradients are treated as one vector ``g``; its p-norm is::

        ‖g‖_p = (Σ |gᵢ|^p)^(1/p)        ‖g‖_∞ = max |gᵢ|     (norm_type = p)

    and each gradient is multiplied by ``c = min(max_norm / (‖g‖ + 1e-6), 1)``.
    Scaling every component by the same factor keeps the *direction* of the
    gradient and only shortens it: a guard against the occasional huge
    gradient (exploding gradients in deep or recurrent nets). The ``1e-6``
    avoids dividing by 0; the ``min(…, 1)`` means small gradients are never
    enlarged. Returns the norm *before* clipping, as a float (useful to log).

    A NaN or infinite gradient makes the norm NaN / inf and the scaled
    gradients NaN, as in PyTorch; with ``error_if_nonfinite=True`` that raises
    a RuntimeError instead, before any gradient changes.
    """
    params = _grad_params(parameters, "clip_grad_norm_")
    max_norm = _at_least_zero("max_norm", max_norm)
    p = _real("norm_type", norm_type)
    if not p > 0.0:
        raise ValueError(f"invalid norm_type: {p!r} (must be > 0, or math.inf)")
    error_if_nonfinite = _flag("error_if_nonfinite", error_if_nonfinite)
    grads = [q.grad for q in params]
    if not grads:
        return 0.0
    if p == math.inf:
        total = math.nan if any(math.isnan(g) for g in grads) else max(abs(g) for g in grads)
    elif p == 2.0:
        total = math.sqrt(sum(g * g for g in grads))
    else:
        total = sum(_abs_power(g, p) for g in grads) ** (1.0 / p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"the total norm of order {p} of the gradients is {total}, so they cannot be clipped "
            "(pass error_if_nonfinite=False to scale them by it anyway)"
        )
    coef = _clamp(max_norm / (total + 1e-6), -math.inf, 1.0)
    for q in params:
        q.grad = q.grad * coef
    return total


def clip_grad_value_(parameters: Value | Iterable[Value], clip_value: float) -> None:
    """Clamp every gradient to ``[-clip_value, clip_value]``, component by component.

    Unlike ``clip_grad_norm_`` this changes the gradient's direction (large
    components are cut, small ones kept). NaN gradients stay NaN.
    """
    params = _grad_params(parameters, "clip_grad_value_")
    c = _at_least_zero("clip_value", clip_value)
    for q in params:
        q.grad = _clamp(q.grad, -c, c)


# ============================================================================
# Learning-rate schedules
# ============================================================================


class LRScheduler:
    """Change ``optimizer.lr`` once per ``step()`` (usually once per epoch).

    ``last_epoch`` counts the calls to ``step()`` (0 after construction);
    ``base_lr`` is the optimizer's ``lr`` when the schedule was created. A
    subclass implements ``_next_lr(lr)``: the new learning rate from the
    current one. Computing it from the current ``lr`` (rather than from
    ``base_lr`` and the epoch) is what PyTorch's ``step()`` does, so several
    schedules can act on one optimizer, each multiplying in its own change.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a schedule takes an Optimizer, not {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        self._last_lr = optimizer.lr

    def step(self) -> None:
        """Advance one epoch and set ``optimizer.lr``. Call it after ``optimizer.step()``."""
        self.last_epoch += 1
        lr = self._next_lr(self.optimizer.lr)
        self.optimizer.lr = lr
        self._last_lr = self.optimizer.lr

    def _next_lr(self, lr: float) -> float:
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rate set by the last ``step()``, as a one-element list (PyTorch's shape:
        one entry per parameter group, and an optimizer here has one group)."""
        return [self._last_lr]

    def state_dict(self) -> dict[str, Any]:
        """``base_lr``, ``last_epoch`` and the last learning rate: enough to resume the schedule."""
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch, "last_lr": self._last_lr}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` saved, including the optimizer's current learning rate.

        ``optimizer.lr`` is set to the saved ``last_lr``, the rate the schedule
        had set, so the schedule resumes where it stopped even on a fresh
        optimizer. Checked before anything changes.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"base_lr", "last_epoch", "last_lr"}:
            raise ValueError("state_dict must be a dict with the keys 'base_lr', 'last_epoch' and 'last_lr'")
        base_lr = _at_least_zero("base_lr", state_dict["base_lr"])
        last_lr = _at_least_zero("last_lr", state_dict["last_lr"])
        epoch = state_dict["last_epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"state_dict['last_epoch'] must be an int >= 0, not {epoch!r}")
        self.base_lr, self.last_epoch, self._last_lr = base_lr, epoch, last_lr
        self.optimizer.lr = last_lr


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs::

        lr_e = base_lr · gamma^⌊e / step_size⌋

    e.g. ``StepLR(opt, step_size=30, gamma=0.1)``: lr for epochs 0–29, lr/10
    for 30–59, lr/100 for 60–89, ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        step_size = int_at_least(step_size, "step_size")
        gamma = _positive_finite("gamma", gamma)
        super().__init__(optimizer)
        self.step_size = step_size
        self.gamma = gamma

    def _next_lr(self, lr: float) -> float:
        return lr * self.gamma if self.last_epoch % self.step_size == 0 else lr


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: ``lr_e = base_lr · gamma^e``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        gamma = _positive_finite("gamma", gamma)
        super().__init__(optimizer)
        self.gamma = gamma

    def _next_lr(self, lr: float) -> float:
        return lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """Anneal the learning rate from ``base_lr`` to ``eta_min`` along half a cosine in ``T_max`` epochs.

    The schedule is::

        lr_e = η_min + (base_lr - η_min) · (1 + cos(π·e / T_max)) / 2

    large steps at first, slowing down smoothly towards ``η_min`` at epoch
    ``T_max``. Past ``T_max`` it follows the cosine back up (period ``2·T_max``);
    for warm restarts use a fresh schedule.

    Like PyTorch's ``step()``, this computes each lr from the previous one
    (the *recursive* form), not from the formula above::

        lr_e = η_min + (lr_{e-1} - η_min) · (1 + cos(π·e/T_max)) / (1 + cos(π·(e-1)/T_max))

    except where the denominator would be 0 (e - 1 = T_max, 3·T_max, ...),
    where it adds ``(base_lr - η_min)·(1 - cos(π/T_max))/2``. The two forms are
    equal mathematically but round differently, so this reproduces PyTorch's
    sequence of learning rates exactly, while the closed form (PyTorch's
    ``_get_closed_form_lr``) differs in the last bits. One exception: where
    the recursion rounds below zero (PyTorch gives -8.7e-19 at epoch 6 for
    ``lr=0, T_max=3, eta_min=1e-3``), the learning rate is 0, since a
    negative one is invalid and the schedule never goes below
    ``min(base_lr, η_min) >= 0``.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        T_max = int_at_least(T_max, "T_max")
        eta_min = _at_least_zero("eta_min", eta_min)
        if eta_min == math.inf:
            raise ValueError("invalid eta_min: inf (must be finite)")
        super().__init__(optimizer)
        self.T_max = T_max
        self.eta_min = eta_min

    def _next_lr(self, lr: float) -> float:
        lr = self._recursive_lr(lr)
        return lr if lr >= 0.0 else 0.0  # rounded below zero: see the class docstring

    def _recursive_lr(self, lr: float) -> float:
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if (e - 1 - T) % (2 * T) == 0:
            return lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (
            lr - eta_min
        ) + eta_min

from .levenberg_marquardt import LevenbergMarquardt  # noqa: E402  (its own module: nn/levenberg_marquardt.py)
