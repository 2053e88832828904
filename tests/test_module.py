"""``Module``: finding parameters and children, zero_grad, train/eval, state_dict and its loading."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from autograd import Value
from nn import MLP, Dropout, Layer, Module, Neuron, Sequential


class Affine(Module):
    """A custom module: parameters in a list and alone, a private Value, a child, a list of children."""

    def __init__(self) -> None:
        self.scale = [Value(2.0), Value(3.0)]
        self.shift = Value(0.5)
        self._cache = Value(99.0)  # private: not a parameter
        self.size = 2  # not a Value: ignored
        self.names = ["a", "b"]  # a list of non-Values: ignored
        self.inner = Neuron(2, seed=0)
        self.heads = [Neuron(1, seed=1), Neuron(1, seed=2)]

    def forward(self, x):
        return self.inner([x[0] * self.scale[0], x[1] * self.scale[1]]) + self.shift


def test_generic_discovery_in_attribute_order():
    m = Affine()
    assert [name for name, _ in m.named_parameters()] == [
        "scale.0",
        "scale.1",
        "shift",
        "inner.w.0",
        "inner.w.1",
        "inner.b",
        "heads.0.w.0",
        "heads.0.b",
        "heads.1.w.0",
        "heads.1.b",
    ]
    assert m._cache not in m.parameters()
    assert [name for name, _ in m.named_children()] == ["inner", "heads.0", "heads.1"]
    assert list(m.children()) == [m.inner, *m.heads]
    assert [name for name, _ in m.named_modules()] == ["", "inner", "heads.0", "heads.1"]
    assert m.num_parameters() == 10
    assert m([1.0, 1.0]).data == pytest.approx(m.inner([2.0, 3.0]).data + 0.5)


def test_nested_module_names():
    seq = Sequential(MLP(2, [2, 1], seed=0), Sequential(Neuron(1, seed=0)))
    names = [name for name, _ in seq.named_modules()]
    assert names == [
        "",
        "0",
        "0.layers.0",
        "0.layers.0.neurons.0",
        "0.layers.0.neurons.1",
        "0.layers.1",
        "0.layers.1.neurons.0",
        "1",
        "1.0",
    ]
    assert [name for name, _ in seq.named_parameters()][-2:] == ["1.0.w.0", "1.0.b"]


def test_shared_parameter_is_reported_once():
    n = Neuron(2, seed=0)
    seq = Sequential(n, Layer(1, 1, seed=0), n)
    params = seq.parameters()
    assert len(params) == len({id(p) for p in params}) == 3 + 2
    assert [name for name, _ in seq.named_parameters()][:3] == ["0.w.0", "0.w.1", "0.b"]


def test_forward_must_be_defined():
    class Empty(Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty does not define forward"):
        Empty()(1.0)
    assert repr(Empty()) == "Empty()"
    assert Empty().parameters() == [] and Empty().state_dict() == {}


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_train_eval_flags_and_return_value():
    model = Sequential(MLP(2, [3, 1], seed=0), Dropout(0.5))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert [m.training for m in model.modules()] == [False] * len(list(model.modules()))
    assert model.train() is model and all(m.training for m in model.modules())
    model.train(False)
    assert not model[1].training
    with pytest.raises(TypeError, match="bool"):
        model.train("no")


# ---------------------------------------------------------------- state_dict
def test_state_dict_is_an_ordinary_dict_of_floats_in_order():
    model = MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    assert type(state) is dict
    assert list(state) == [name for name, _ in model.named_parameters()]
    assert all(type(v) is float for v in state.values())
    assert json.loads(json.dumps(state)) == state


def test_state_dict_round_trip():
    source = MLP(2, [4, 4, 1], seed=1)
    target = MLP(2, [4, 4, 1], seed=2)
    x = [0.3, -0.6]
    assert source(x).data != target(x).data
    target.load_state_dict(source.state_dict())
    assert target.state_dict() == source.state_dict()
    assert source(x).data == target(x).data
    # A loaded state is a copy: changing the source afterwards does not reach the target.
    source.parameters()[0].data += 1.0
    assert target.state_dict() != source.state_dict()


def test_load_accepts_ints_and_numpy_scalars():
    n = Neuron(2, seed=0)
    n.load_state_dict({"w.0": 1, "w.1": np.float64(2.5), "b": Fraction(1, 4)})
    assert [p.data for p in n.parameters()] == [1.0, 2.5, 0.25]
    assert all(type(p.data) is float for p in n.parameters())


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda s: s.pop("layers.1.neurons.0.b"), KeyError, "missing key.*'layers.1.neurons.0.b'"),
        (lambda s: s.update({"layers.9.w": 1.0}), KeyError, "unexpected key.*'layers.9.w'"),
        (lambda s: s.update({"layers.0.neurons.2.b": "0.5"}), ValueError, r"neurons.2.b.*str"),
        (lambda s: s.update({"layers.1.neurons.0.w.1": None}), ValueError, "NoneType"),
        (lambda s: s.update({"layers.1.neurons.0.w.2": Value(1.0)}), ValueError, "Value"),
        (lambda s: s.update({"layers.0.neurons.0.w.0": True}), ValueError, "bool"),
        (lambda s: s.update({"layers.1.neurons.0.b": math.nan}), ValueError, "finite"),
        (lambda s: s.update({"layers.1.neurons.0.b": -math.inf}), ValueError, "finite"),
    ],
)
def test_failing_load_changes_no_weight(change, error, match):
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    new = {name: value + 1.0 for name, value in before.items()}  # every weight would change
    change(new)
    with pytest.raises(error, match=match):
        model.load_state_dict(new)
    assert model.state_dict() == before


def test_load_reports_missing_and_extra_together_and_rejects_non_mappings():
    n = Neuron(1, seed=0)
    with pytest.raises(KeyError) as excinfo:
        n.load_state_dict({"w.0": 1.0, "bias": 0.0})
    assert "missing key(s) 'b'" in str(excinfo.value) and "unexpected key(s) 'bias'" in str(excinfo.value)
    with pytest.raises(TypeError, match="mapping"):
        n.load_state_dict([("w.0", 1.0), ("b", 0.0)])


def test_load_keeps_gradients_and_labels():
    model = MLP(2, [2, 1], seed=0)
    model([1.0, 2.0]).backward()
    grads = [p.grad for p in model.parameters()]
    model.load_state_dict({name: 0.25 for name in model.state_dict()})
    assert [p.grad for p in model.parameters()] == grads
    assert all(p.data == 0.25 for p in model.parameters())
    assert all(p.label == name for name, p in model.named_parameters())


def test_load_accepts_numpy_float32_and_int64_as_python_floats():
    n = Neuron(2, seed=0)
    n.load_state_dict({"w.0": np.float32(0.1), "w.1": np.int64(3), "b": np.float16(0.5)})
    assert [p.data for p in n.parameters()] == [float(np.float32(0.1)), 3.0, 0.5]
    assert all(type(p.data) is float for p in n.parameters())  # no float32 leaks into a graph


def test_a_number_too_large_for_a_float_is_an_overflow_error_naming_key_and_number():
    n = Neuron(1, seed=0)
    before = n.state_dict()
    with pytest.raises(OverflowError, match=r"state_dict\['w.0'\] is 100000.*000 \(401 digits\)"):
        n.load_state_dict({"w.0": 10**400, "b": 0.0})
    with pytest.raises(OverflowError, match=r"state_dict\['b'\].*too large for a float"):
        n.load_state_dict({"w.0": 0.0, "b": Fraction(10**400, 3)})
    assert n.state_dict() == before


# ---------------------------------------------------------------- strict=False
def test_strict_false_loads_the_matching_keys_and_returns_the_others():
    model = MLP(2, [2, 1], seed=0)
    before = model.state_dict()
    state = {"layers.0.neurons.0.w.0": 0.5, "layers.1.neurons.0.b": -1.5, "extra.w": 9.0, "other": 1.0}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == [k for k in before if k not in state]
    assert result.unexpected_keys == ["extra.w", "other"]
    missing, unexpected = result  # a named tuple, as torch's _IncompatibleKeys
    assert (missing, unexpected) == (result.missing_keys, result.unexpected_keys)
    after = model.state_dict()
    assert after["layers.0.neurons.0.w.0"] == 0.5 and after["layers.1.neurons.0.b"] == -1.5
    assert all(after[k] == before[k] for k in result.missing_keys)


def test_strict_loads_return_an_empty_result_and_strict_false_still_checks_numbers():
    model = MLP(2, [2, 1], seed=0)
    result = model.load_state_dict(model.state_dict())
    assert result == ([], []) and not result.missing_keys and not result.unexpected_keys
    assert model.load_state_dict({}, strict=False).missing_keys == list(model.state_dict())
    before = model.state_dict()
    with pytest.raises(ValueError, match="layers.1.neurons.0.b"):
        model.load_state_dict({"layers.0.neurons.0.b": 2.0, "layers.1.neurons.0.b": math.nan}, strict=False)
    assert model.state_dict() == before  # nothing loaded, not even the good key
    with pytest.raises(TypeError, match="strict must be True or False"):
        model.load_state_dict(before, strict="no")
