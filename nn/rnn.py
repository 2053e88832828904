"""``RNN``: a recurrent layer, and backpropagation through time.

A recurrent network reads a sequence ``x₁, x₂, …, x_T`` one step at a time and
carries a *hidden state* ``h`` from each step to the next::

    h_t = tanh(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)        t = 1, …, T

(``h₀`` is given, or zero). The same four parameters are used at every step:
``W_ih`` (``hidden_size × input_size``) reads the input, ``W_hh``
(``hidden_size × hidden_size``) reads the previous state, and the two biases
are added as in ``torch.nn.RNN``, which keeps them apart for cuDNN's sake
(their sum is all that matters).

Backpropagation through time
----------------------------
Run on a sequence, the layer records an ordinary graph: the loop, *unrolled*.
Step ``t`` is a copy of the same little network, fed by ``x_t`` and by the
``h_{t−1}`` of the copy before it. ``backward()`` on a loss computed from the
outputs needs nothing new: it walks that graph backwards, which is the name
*backpropagation through time* (BPTT). Two things follow from the shape of
the graph.

* **A shared weight collects a gradient from every step.** ``W_hh`` is used
  at each of the T steps, so (as for any value used several times)
  ``dL/dW_hh`` is the *sum* of T contributions, one per copy. The engine adds
  them up because ``backward`` accumulates into leaves.

* **Gradients shrink (or grow) on their way back in time.** Write
  ``a_t = W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh`` (so ``h_t = tanh(a_t)``).
  By the chain rule, one step back multiplies the gradient by a Jacobian::

      dL/dh_{t−1} = W_hhᵀ · (dL/dh_t ⊙ (1 − h_t²))     (plus the direct part,
                                                          if the loss reads h_{t−1})

  so the gradient that reaches step ``t`` from step ``T`` has passed through
  ``T − t`` such factors. When ``‖W_hh‖`` is small or ``tanh`` saturates
  (``1 − h² ≈ 0``), their product vanishes geometrically: the network cannot
  learn that an early input matters much later. When ``‖W_hh‖`` is large, it
  can explode instead (the reason for gradient clipping in RNNs).

Truncated BPTT
--------------
A long sequence makes a long graph: memory and time grow with T. *Truncated*
BPTT cuts the sequence into chunks of k steps, backpropagates inside each
chunk only, and carries the *number* of the last hidden state, not its graph,
into the next chunk::

    outputs, h = rnn(chunk, h)
    loss(outputs).backward()
    h = [v.detach() for v in h]     # same numbers, a new leaf: the graph stops here

``Value.detach()`` returns a leaf with the same ``data``, so the next chunk's
backward pass stops at it (``torch.Tensor.detach`` does the same). The cost:
no gradient says how an input influences anything more than k steps later.

Layout and initialisation (as ``torch.nn.RNN`` with one layer)
--------------------------------------------------------------
``weight_ih[j][k]`` is ``weight_ih_l0[j, k]`` of PyTorch (row ``j`` is hidden
unit ``j``), ``weight_hh[j][k]`` is ``weight_hh_l0[j, k]``, ``bias_ih[j]`` is
``bias_ih_l0[j]``, ``bias_hh[j]`` is ``bias_hh_l0[j]``. Every parameter starts
uniform in ``[−1/√hidden_size, 1/√hidden_size]``, drawn in that order (row by
row) from a private generator (``seed=`` or ``rng=``, see ``nn.init``).
Parameter names: ``weight_ih.j.k``, ``weight_hh.j.k``, ``bias_ih.j``,
``bias_hh.j``.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Union

from autograd import Value

from .checks import int_at_least
from .init import make_rng
from .module import Module

__all__ = ["NONLINEARITIES", "RNN"]

Number = Union[Value, float]

#: The nonlinearities ``RNN`` accepts, as ``torch.nn.RNN``'s ``nonlinearity``.
NONLINEARITIES: dict[str, Callable[[Value], Value]] = {"tanh": Value.tanh, "relu": Value.relu}


class RNN(Module):
    """An Elman recurrent layer: ``h_t = tanh(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)``.

    ``outputs, h = rnn(sequence, h0=None)``: ``sequence`` is a list of T steps,
    each a list of ``input_size`` ``Value``\\ s or numbers; ``outputs`` is the
    list of the T hidden states (each a list of ``hidden_size`` ``Value``\\ s)
    and ``h`` the last one. ``h0`` defaults to zeros. This is
    ``torch.nn.RNN(input_size, hidden_size, nonlinearity)`` with one layer, on
    a batch of one sequence (see the module docstring for BPTT).

    >>> rnn = RNN(1, 2, seed=0)
    >>> outputs, h = rnn([[1.0], [0.5], [-1.0]])
    >>> len(outputs), len(h), h is outputs[-1]
    (3, 2, True)
    >>> [round(v.data, 4) for v in h]
    [-0.1681, -0.4769]
    >>> [name for name, _ in rnn.named_parameters()][:3]
    ['weight_ih.0.0', 'weight_ih.1.0', 'weight_hh.0.0']
    >>> rnn.num_parameters()
    10
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "tanh",
        seed: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.input_size = int_at_least(input_size, "input_size")
        self.hidden_size = int_at_least(hidden_size, "hidden_size")
        if not isinstance(nonlinearity, str) or nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"unknown nonlinearity {nonlinearity!r}: choose one of {', '.join(map(repr, NONLINEARITIES))}"
            )
        self.nonlinearity = nonlinearity
        self._act = NONLINEARITIES[nonlinearity]
        generator = make_rng(seed, rng)
        bound = 1.0 / math.sqrt(hidden_size)

        def draws(n: int) -> list[Value]:
            return [Value(generator.uniform(-bound, bound)) for _ in range(n)]

        # PyTorch's order: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0.
        self.weight_ih = [draws(input_size) for _ in range(hidden_size)]
        self.weight_hh = [draws(hidden_size) for _ in range(hidden_size)]
        self.bias_ih = draws(hidden_size)
        self.bias_hh = draws(hidden_size)
        self.label_parameters()

    def named_members(self) -> Iterator[tuple[str, object]]:
        """As ``Module``'s, with each row of a weight matrix opened up: ``weight_ih.j.k``."""
        for name, member in super().named_members():
            if isinstance(member, list):
                for k, item in enumerate(member):
                    yield f"{name}.{k}", item
            else:
                yield name, member

    def forward(
        self, sequence: Sequence[Sequence[Number]], h0: Sequence[Number] | None = None
    ) -> tuple[list[list[Value]], list[Value]]:
        """Run over ``sequence`` from ``h0`` (zeros if None); return ``(outputs, last hidden state)``."""
        steps = self._check_sequence(sequence)
        h: Sequence[Number] = (
            [0.0] * self.hidden_size if h0 is None else self._check_vector(h0, self.hidden_size, "h0")
        )
        outputs: list[list[Value]] = []
        for x in steps:
            outputs.append(self.cell(x, h))
            h = outputs[-1]
        return outputs, outputs[-1]  # there is at least one step (_check_sequence)

    def cell(self, x: Sequence[Number], h: Sequence[Number]) -> list[Value]:
        """One step: ``act(W_ih·x + b_ih + W_hh·h + b_hh)``, hidden unit by hidden unit (unchecked input)."""
        act = self._act
        new_h = []
        for w_ih, w_hh, b_ih, b_hh in zip(
            self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, strict=True
        ):
            a = b_ih
            for w, xk in zip(w_ih, x, strict=True):
                a = a + w * xk
            a = a + b_hh
            for w, hk in zip(w_hh, h, strict=True):
                a = a + w * hk
            new_h.append(act(a))
        return new_h

    # ------------------------------------------------------------ validation
    def _check_sequence(self, sequence: object) -> list[list[Number]]:
        if not isinstance(sequence, (list, tuple)):
            raise TypeError(
                f"RNN takes a sequence as a list of steps (each a list of {self.input_size} numbers), "
                f"not {type(sequence).__name__}"
            )
        if not sequence:
            raise ValueError("RNN got an empty sequence: give at least one step")
        return [
            self._check_vector(x, self.input_size, f"step {t} of the sequence")
            for t, x in enumerate(sequence)
        ]

    @staticmethod
    def _check_vector(vector: object, size: int, what: str) -> list[Number]:
        """``vector`` as a list if it holds ``size`` Values or real numbers; else an error naming ``what``."""
        if not isinstance(vector, (list, tuple)):
            raise TypeError(f"{what} must be a list of {size} Values or numbers, not {type(vector).__name__}")
        if len(vector) != size:
            raise ValueError(f"{what} has {len(vector)} entries, expected {size}")
        for k, item in enumerate(vector):
            if not isinstance(item, Value) and (isinstance(item, bool) or not isinstance(item, numbers.Real)):
                raise TypeError(f"{what}: entry {k} is a {type(item).__name__}, not a Value or a number")
        return [item if isinstance(item, Value) else float(item) for item in vector]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, nonlinearity={self.nonlinearity!r}"
