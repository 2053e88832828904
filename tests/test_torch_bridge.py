"""``nn.to_torch`` and ``nn.from_torch``: the same function, numbers and gradients on both sides."""

from __future__ import annotations

import random
import sys

import pytest
import torch

from autograd import Value
from nn import (
    MLP,
    BatchNorm1d,
    Dropout,
    Layer,
    LeakyReLU,
    Module,
    Neuron,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    from_torch,
    losses,
    to_torch,
)

TOL = 1e-12


def batch(n: int, c: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.uniform(-2.0, 2.0) for _ in range(c)] for _ in range(n)]


def with_batch_norm() -> Sequential:
    model = Sequential(
        Layer(3, 5, "linear", seed=0),
        BatchNorm1d(5, eps=1e-4, momentum=0.3),
        Tanh(),
        Sequential(Layer(5, 4, "leaky_relu", seed=1), Dropout(0.25)),
        LeakyReLU(0.2),
        Layer(4, 2, "sigmoid", seed=2),
        Layer(2, 1, "linear", seed=3),
    )
    bn = model[1]
    rng = random.Random(9)
    for w, b in zip(bn.weight, bn.bias, strict=True):
        w.data, b.data = rng.uniform(0.5, 2.0), rng.uniform(-1.0, 1.0)
    model.forward_batch(batch(6, 3, seed=1))  # move the running statistics away from 0 and 1
    return model


def outputs(model: Module, X: list[list[float]]) -> list[list[float]]:
    result = []
    for y in model.forward_batch(X):
        result.append([v.data for v in y] if isinstance(y, list) else [y.data])
    return result


def torch_parameter_order(model: Module) -> list[Value]:
    """Our parameters in the order of ``to_torch(model).parameters()`` (weight rows, then biases)."""
    found: list[Value] = []
    for module in model.modules():
        if type(module) is Layer:
            found += [w for n in module.neurons for w in n.w] + [n.b for n in module.neurons]
        elif type(module) is BatchNorm1d:
            found += module.weight + module.bias
    return found


def assert_close(ours, theirs, tol: float = TOL) -> None:
    a, b = torch.tensor(ours, dtype=torch.float64), torch.tensor(theirs, dtype=torch.float64)
    assert a.shape == b.shape
    assert torch.allclose(a, b, rtol=0.0, atol=tol), (a - b).abs().max()


def test_an_mlp_becomes_linear_and_activation_modules_with_the_same_weights():
    model = MLP(2, [4, 3, 1], activation="tanh", seed=0)
    twin = to_torch(model)
    assert [type(m).__name__ for m in twin] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert twin[0].weight.dtype == torch.float64
    assert twin[0].weight[2, 1].item() == model.layers[0].neurons[2].w[1].data
    assert twin[2].bias[1].item() == model.layers[1].neurons[1].b.data
    X = batch(7, 2, seed=0)
    assert_close(outputs(model, X), twin(torch.tensor(X, dtype=torch.float64)).tolist())


@pytest.mark.parametrize("training", [True, False])
def test_outputs_gradients_and_running_statistics_match_in_both_modes(training):
    model = with_batch_norm()
    model[3][1].p = 0.0 if training else 0.25  # random masks cannot match; eval mode turns dropout off anyway
    model.train(training)
    twin = to_torch(model)
    assert [m.training for m in twin.modules()] == [training] * len(list(twin.modules()))
    X, targets = batch(8, 3, seed=2), [0.5, -1.0, 0.0, 2.0, 1.0, -0.5, 0.25, 1.5]

    ours = model.forward_batch(X)
    model.zero_grad()
    losses.mse_loss(ours, targets).backward()
    x = torch.tensor(X, dtype=torch.float64)
    theirs = twin(x).squeeze(1)
    torch.nn.functional.mse_loss(theirs, torch.tensor(targets, dtype=torch.float64)).backward()

    assert_close([y.data for y in ours], theirs.tolist())
    ours_grads = [p.grad for p in torch_parameter_order(model)]
    theirs_grads = [g for p in twin.parameters() for g in p.grad.flatten().tolist()]
    assert len(ours_grads) == len(theirs_grads) == model.num_parameters()
    assert_close(ours_grads, theirs_grads)
    assert_close(model[1].running_mean, twin[1].running_mean.tolist())
    assert_close(model[1].running_var, twin[1].running_var.tolist())


def test_round_trip_to_torch_and_back_preserves_everything():
    model = with_batch_norm()
    model[3].eval()  # modes are per module
    back = from_torch(to_torch(model))
    assert repr(back) == repr(model)
    assert back.state_dict() == model.state_dict()  # parameters and running statistics, exactly
    assert [m.training for m in back.modules()] == [m.training for m in model.modules()]
    assert (back[1].eps, back[1].momentum, back[3][1].p) == (1e-4, 0.3, 0.25)
    model.eval(), back.eval()
    X = batch(5, 3, seed=3)
    assert outputs(back, X) == outputs(model, X)


def test_round_trip_from_torch_and_back_gives_the_same_torch_state():
    torch.manual_seed(0)
    twin = torch.nn.Sequential(
        torch.nn.Linear(3, 4, dtype=torch.float64),
        torch.nn.BatchNorm1d(4, dtype=torch.float64),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.1),
        torch.nn.Linear(4, 2, dtype=torch.float64),
        torch.nn.Sigmoid(),
    )
    twin(torch.randn(6, 3, dtype=torch.float64))  # running statistics
    twin.eval()
    model = from_torch(twin)
    assert [type(m).__name__ for m in model] == ["Layer", "BatchNorm1d", "ReLU", "Dropout", "Layer"]
    assert model[4].activation == "sigmoid"
    again = to_torch(model)
    expected = {k: v for k, v in twin.state_dict().items() if not k.endswith("num_batches_tracked")}
    got = {k: v for k, v in again.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert list(got) == list(expected)
    assert all(torch.equal(got[k], expected[k]) for k in expected)
    X = batch(5, 3, seed=4)
    assert_close(outputs(model, X), twin(torch.tensor(X, dtype=torch.float64)).tolist())


def test_an_mlp_comes_back_as_a_sequential_of_its_layers():
    model = MLP(2, [3, 1], activation="relu", seed=0)
    back = from_torch(to_torch(model))
    assert repr(back) == f"Sequential(\n  (0): {model.layers[0]!r}\n  (1): {model.layers[1]!r}\n)"
    assert {k.removeprefix("layers."): v for k, v in model.state_dict().items()} == back.state_dict()


def test_a_linear_layer_then_an_activation_module_comes_back_as_one_layer():
    model = Sequential(Layer(2, 3, "linear", seed=0), Sigmoid(), Layer(3, 1, "linear", seed=1), ReLU())
    back = from_torch(to_torch(model))
    assert [(type(m).__name__, getattr(m, "activation", None)) for m in back] == [
        ("Layer", "sigmoid"),
        ("Layer", "relu"),
    ]
    X = batch(4, 2, seed=5)
    assert outputs(back, X) == outputs(model, X)


def test_a_float32_module_is_read_as_floats():
    linear = torch.nn.Linear(2, 1)  # float32
    model = from_torch(linear)
    assert model[0].neurons[0].w[1].data == linear.weight[0, 1].item()
    assert model[0].activation == "linear"


@pytest.mark.parametrize(
    ("module", "error", "match"),
    [
        (
            torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Conv1d(1, 1, 1)),
            TypeError,
            r"module\[1\] is Conv1d",
        ),
        (torch.nn.Sequential(torch.nn.Sequential(torch.nn.GELU())), TypeError, r"module\[0\]\[0\] is GELU"),
        (torch.nn.Linear(2, 2, bias=False), ValueError, "without a bias"),
        (torch.nn.BatchNorm1d(2, affine=False), ValueError, "only affine=True"),
        (torch.nn.BatchNorm1d(2, track_running_stats=False), ValueError, "track_running_stats=True"),
        (torch.nn.BatchNorm1d(2, bias=False), ValueError, r"affine=True \(with a bias\)"),
        (torch.nn.BatchNorm1d(2, momentum=None), ValueError, "momentum=None"),
        (type("MyLinear", (torch.nn.Linear,), {})(2, 2), TypeError, "is MyLinear"),
    ],
)
def test_from_torch_refuses_what_has_no_counterpart(module, error, match):
    with pytest.raises(error, match=match):
        from_torch(module)


def test_to_torch_refuses_other_modules_and_non_modules():
    with pytest.raises(TypeError, match=r"model\[1\] is Neuron\(3.*put a Neuron's weights in a Layer"):
        to_torch(Sequential(Layer(2, 3, seed=0), Neuron(3, seed=0)))

    class Doubler(Module):
        def forward(self, x):
            return [2 * v for v in x]

    with pytest.raises(TypeError, match=r"model is Doubler\(\), which has no PyTorch counterpart"):
        to_torch(Doubler())
    with pytest.raises(TypeError, match="not list"):
        to_torch([Layer(2, 1)])
    with pytest.raises(TypeError, match="converts a torch.nn.Module, not Sequential"):
        from_torch(Sequential())


def test_without_torch_both_say_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails as if it were not installed
    with pytest.raises(ImportError, match=r"to_torch needs PyTorch.*pip install torch"):
        to_torch(MLP(2, [1], seed=0))
    with pytest.raises(ImportError, match=r"from_torch needs PyTorch.*pip install torch"):
        from_torch(object())


T = torch.nn


@pytest.mark.parametrize(
    "module, error, where",
    [
        (T.Sequential(T.Linear(2, 2), T.Dropout(1.0)), ValueError, r"module\[1\] is Dropout\(p=1\.0"),
        (T.Sequential(T.Linear(2, 2), T.BatchNorm1d(2, momentum=1.5)), ValueError, r"module\[1\] is Batch"),
        (T.Sequential(T.Linear(2, 2), T.BatchNorm1d(2, eps=0.0)), ValueError, r"module\[1\] is BatchNorm1d"),
        (T.Sequential(T.Tanh(), T.Linear(0, 2)), ValueError, r"module\[1\] is Linear\(in_features=0"),
        (T.Sequential(T.Linear(2, 2), T.Sequential(T.ReLU(), T.BatchNorm1d(0))), ValueError, r"module.1..1."),
        (T.Dropout(1.0), ValueError, r"module\[0\] is Dropout"),  # a lone module: as in a Sequential
    ],
)
def test_from_torch_says_where_in_the_model_a_setting_is_refused(module, error, where):
    """Issue 20, item 19: a setting refused here (Dropout(1.0), eps=0, ...) was reported with no place."""
    with pytest.raises(error, match=rf"^from_torch: {where}.*: .*(must be|not)"):
        from_torch(module)


def test_from_torch_names_a_named_child_by_its_name_too():
    from collections import OrderedDict

    model = T.Sequential(OrderedDict(fc1=T.Linear(2, 2), act=T.Tanh(), drop=T.Dropout(1.0)))
    with pytest.raises(ValueError, match=r"^from_torch: module\[2\] 'drop' is Dropout\(p=1\.0"):
        from_torch(model)
    nested = T.Sequential(OrderedDict(body=T.Sequential(T.Linear(2, 2), T.GELU())))
    with pytest.raises(TypeError, match=r"^from_torch: module\[0\] 'body'\[1\] is GELU"):
        from_torch(nested)
