"""``nn.RNN`` and backpropagation through time, against ``torch.nn.RNN`` (float64, one layer, batch 1)."""

from __future__ import annotations

import math
import random

import pytest
import torch

import nn
from autograd import Value
from nn import RNN

TOL = dict(rel=1e-9, abs=1e-12)


def torch_copy(rnn: RNN) -> torch.nn.RNN:
    """A ``torch.nn.RNN`` holding our weights (``weight_ih_l0[j, k] = weight_ih[j][k]``, ...)."""
    ref = torch.nn.RNN(rnn.input_size, rnn.hidden_size, nonlinearity=rnn.nonlinearity, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            ours = getattr(rnn, name)
            numbers = (
                [[v.data for v in row] for row in ours]
                if name.startswith("weight")
                else [v.data for v in ours]
            )
            getattr(ref, f"{name}_l0").copy_(torch.tensor(numbers, dtype=torch.float64))
    return ref


def random_sequence(steps: int, size: int, rng: random.Random) -> list[list[float]]:
    return [[rng.uniform(-2.0, 2.0) for _ in range(size)] for _ in range(steps)]


def loss_coefficients(steps: int, hidden: int, rng: random.Random) -> list[list[float]]:
    return [[rng.uniform(-1.0, 1.0) for _ in range(hidden)] for _ in range(steps)]


def our_loss(outputs, coefficients):
    """Σ_t Σ_j c_tj·o_tj + Σ o_tj²: every output matters, with a different weight."""
    loss = Value(0.0)
    for out, cs in zip(outputs, coefficients, strict=True):
        for o, c in zip(out, cs, strict=True):
            loss = loss + c * o + o * o
    return loss


def torch_loss(outputs, coefficients):
    c = torch.tensor(coefficients, dtype=torch.float64)
    return (c * outputs).sum() + (outputs * outputs).sum()


def parameter_grads(rnn: RNN) -> dict[str, float]:
    return {name: p.grad for name, p in rnn.named_parameters()}


def torch_parameter_grads(ref: torch.nn.RNN) -> dict[str, float]:
    grads = {}
    for name in ("weight_ih", "weight_hh"):
        g = getattr(ref, f"{name}_l0").grad
        for j in range(g.shape[0]):
            for k in range(g.shape[1]):
                grads[f"{name}.{j}.{k}"] = g[j, k].item()
    for name in ("bias_ih", "bias_hh"):
        g = getattr(ref, f"{name}_l0").grad
        for j in range(g.shape[0]):
            grads[f"{name}.{j}"] = g[j].item()
    return grads


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("with_h0", [False, True])
def test_matches_torch_outputs_state_and_every_gradient(nonlinearity, with_h0):
    rng = random.Random(7)
    steps, input_size, hidden = 5, 3, 4
    rnn = RNN(input_size, hidden, nonlinearity=nonlinearity, seed=1)
    ref = torch_copy(rnn)
    sequence = random_sequence(steps, input_size, rng)
    h0_numbers = [rng.uniform(-1.0, 1.0) for _ in range(hidden)]
    coefficients = loss_coefficients(steps, hidden, rng)

    # Inputs and h0 as Values, so that their gradients are compared too.
    x = [[Value(v) for v in step] for step in sequence]
    h0 = [Value(v) for v in h0_numbers] if with_h0 else None
    outputs, h = rnn(x, h0)
    our_loss(outputs, coefficients).backward()

    tx = torch.tensor(sequence, dtype=torch.float64).reshape(steps, 1, input_size).requires_grad_()
    th0 = torch.tensor(h0_numbers, dtype=torch.float64).reshape(1, 1, hidden).requires_grad_()
    t_out, t_h = ref(tx, th0) if with_h0 else ref(tx)
    torch_loss(t_out.reshape(steps, hidden), coefficients).backward()

    assert len(outputs) == steps and all(len(o) == hidden for o in outputs)
    assert [o.data for out in outputs for o in out] == pytest.approx(t_out.flatten().tolist(), **TOL)
    assert [v.data for v in h] == pytest.approx(t_h.flatten().tolist(), **TOL)
    expected = torch_parameter_grads(ref)
    ours = parameter_grads(rnn)
    assert list(ours) == list(expected)
    assert list(ours.values()) == pytest.approx(list(expected.values()), **TOL)
    assert any(g != 0.0 for g in ours.values())
    assert [v.grad for step in x for v in step] == pytest.approx(tx.grad.flatten().tolist(), **TOL)
    if with_h0:
        assert [v.grad for v in h0] == pytest.approx(th0.grad.flatten().tolist(), **TOL)


def test_inputs_may_be_plain_numbers_and_h0_too():
    rnn = RNN(2, 3, seed=0)
    sequence = [[0.5, -1.0], [2.0, 0.25]]
    as_values = rnn([[Value(v) for v in step] for step in sequence], [Value(0.1)] * 3)[1]
    as_numbers = rnn(sequence, (0.1, 0.1, 0.1))[1]
    assert [v.data for v in as_numbers] == [v.data for v in as_values]


def test_truncated_bptt_with_detach_gives_torchs_gradient():
    """Two chunks of 3 steps, the state carried across detached: the gradient torch gives with .detach()."""
    rng = random.Random(3)
    steps, input_size, hidden = 6, 2, 3
    rnn = RNN(input_size, hidden, seed=5)
    ref = torch_copy(rnn)
    sequence = random_sequence(steps, input_size, rng)
    coefficients = loss_coefficients(steps, hidden, rng)

    first, h = rnn(sequence[:3])
    second, _ = rnn(sequence[3:], [v.detach() for v in h])
    our_loss(first + second, coefficients).backward()

    tx = torch.tensor(sequence, dtype=torch.float64).reshape(steps, 1, input_size)
    t_first, t_h = ref(tx[:3])
    t_second, _ = ref(tx[3:], t_h.detach())
    torch_loss(torch.cat([t_first, t_second]).reshape(steps, hidden), coefficients).backward()

    truncated = parameter_grads(rnn)
    assert list(truncated.values()) == pytest.approx(list(torch_parameter_grads(ref).values()), **TOL)

    # Without the detach the gradient is the full one, and different: the cut is what changed it.
    rnn.zero_grad()
    outputs, _ = rnn(sequence)
    our_loss(outputs, coefficients).backward()
    full = parameter_grads(rnn)
    assert max(abs(full[name] - truncated[name]) for name in full) > 1e-3


def test_detached_state_stops_the_gradient_at_the_chunk_boundary():
    rnn = RNN(1, 2, seed=0)
    first, h = rnn([[1.0], [2.0]])
    cut = [v.detach() for v in h]
    second, _ = rnn([[0.5]], cut)
    second[0][0].backward()
    assert all(v.is_leaf for v in cut)
    assert [v.data for v in cut] == [v.data for v in h]
    assert all(c.grad != 0.0 for c in cut)  # the gradient reaches the cut ...
    assert all(v.grad == 0.0 for v in h)  # ... and stops there: the first chunk gets nothing
    assert all(o.grad == 0.0 for o in first[0])


def test_parameters_laid_out_as_torch_and_named():
    rnn = RNN(3, 2, seed=0)
    names = [name for name, _ in rnn.named_parameters()]
    assert names == [
        "weight_ih.0.0", "weight_ih.0.1", "weight_ih.0.2", "weight_ih.1.0", "weight_ih.1.1", "weight_ih.1.2",
        "weight_hh.0.0", "weight_hh.0.1", "weight_hh.1.0", "weight_hh.1.1",
        "bias_ih.0", "bias_ih.1", "bias_hh.0", "bias_hh.1",
    ]  # fmt: skip
    ref = torch.nn.RNN(3, 2, dtype=torch.float64)
    assert rnn.num_parameters() == sum(p.numel() for p in ref.parameters()) == 14
    assert [p.label for p in rnn.parameters()] == names
    assert rnn.weight_hh[1][0] is dict(rnn.named_parameters())["weight_hh.1.0"]
    assert repr(rnn) == "RNN(3, 2, nonlinearity='tanh')"


def test_state_dict_round_trip_through_a_file_and_zero_grad(tmp_path):
    a, b = RNN(2, 3, seed=1), RNN(2, 3, seed=2)
    assert a.state_dict() != b.state_dict()
    nn.save(a.state_dict(), tmp_path / "rnn.json")
    b.load_state_dict(nn.load(tmp_path / "rnn.json"))
    assert b.state_dict() == a.state_dict()
    outputs, h = b([[1.0, 2.0]])
    h[0].backward()
    assert any(p.grad != 0.0 for p in b.parameters())
    b.zero_grad()
    assert all(p.grad == 0.0 for p in b.parameters())


def test_initialisation_uniform_within_torchs_bound_and_seeded():
    hidden = 64
    bound = 1.0 / math.sqrt(hidden)
    ours = [p.data for p in RNN(4, hidden, seed=0).parameters()]
    theirs = torch.cat(
        [p.detach().flatten() for p in torch.nn.RNN(4, hidden, dtype=torch.float64).parameters()]
    )
    assert len(ours) == theirs.numel() == 64 * 4 + 64 * 64 + 2 * 64
    # Both fill the same interval [-1/√H, 1/√H]: nearly to its ends, never beyond ...
    for sample in (ours, theirs.tolist()):
        assert max(abs(v) for v in sample) <= bound
        assert min(sample) < -0.99 * bound and max(sample) > 0.99 * bound
    # ... and evenly: a uniform on [-a, a] has mean 0 and variance a²/3 (4,480 draws: 2% tolerance).
    mean = sum(ours) / len(ours)
    variance = sum((v - mean) ** 2 for v in ours) / len(ours)
    assert abs(mean) < 0.02 * bound
    assert variance == pytest.approx(bound**2 / 3, rel=0.05)
    # Seeded: the same seed, the same weights; the global random state untouched.
    random.seed(123)
    before = random.random()
    random.seed(123)
    again = [p.data for p in RNN(4, hidden, seed=0).parameters()]
    assert again == ours and random.random() == before
    assert [p.data for p in RNN(4, hidden, seed=1).parameters()] != ours
    generator = random.Random(0)
    assert [p.data for p in RNN(4, hidden, rng=generator).parameters()] == ours


def test_relu_nonlinearity_and_bad_nonlinearity():
    rnn = RNN(1, 3, nonlinearity="relu", seed=0)
    outputs, _ = rnn([[5.0], [-5.0]])
    assert all(o.data >= 0.0 for out in outputs for o in out)
    assert {o.op for out in outputs for o in out} == {"relu"}
    with pytest.raises(ValueError, match="unknown nonlinearity 'sigmoid': choose one of 'tanh', 'relu'"):
        RNN(1, 3, nonlinearity="sigmoid")


@pytest.mark.parametrize(
    ("sizes", "error", "message"),
    [
        ((0, 3), ValueError, "input_size must be a positive int, not 0"),
        ((2, 0), ValueError, "hidden_size must be a positive int, not 0"),
        ((2.0, 3), TypeError, "input_size must be a positive int, not float"),
    ],
)
def test_bad_sizes(sizes, error, message):
    with pytest.raises(error, match=message):
        RNN(*sizes)


@pytest.mark.parametrize(
    ("sequence", "h0", "error", "message"),
    [
        ([], None, ValueError, "empty sequence"),
        (
            [1.0, 2.0],
            None,
            TypeError,
            r"step 0 of the sequence must be a list of 2 Values or numbers, not float",
        ),
        ([[1.0, 2.0], [1.0]], None, ValueError, r"step 1 of the sequence has 1 entries, expected 2"),
        ([[1.0, "2"]], None, TypeError, r"step 0 of the sequence: entry 1 is a str, not a Value or a number"),
        ([[1.0, True]], None, TypeError, r"entry 1 is a bool"),
        ("ab", None, TypeError, r"RNN takes a sequence as a list of steps .* not str"),
        ([[1.0, 2.0]], [0.0, 0.0], ValueError, r"h0 has 2 entries, expected 3"),
        ([[1.0, 2.0]], 0.0, TypeError, r"h0 must be a list of 3 Values or numbers, not float"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(sequence, h0, error, message):
    rnn = RNN(2, 3, seed=0)
    before = rnn.state_dict()
    with pytest.raises(error, match=message):
        rnn(sequence, h0)
    assert rnn.state_dict() == before
