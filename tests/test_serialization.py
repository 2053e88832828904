"""Saving and loading weights: exact round trips, atomic writes, clear errors."""

from __future__ import annotations

import json
import math

import pytest

import nn
from nn import MLP


def test_a_round_trip_restores_every_weight_exactly(tmp_path):
    model = MLP(2, [4, 3, 1], seed=0)
    path = nn.save(model.state_dict(), tmp_path / "weights.json")
    other = MLP(2, [4, 3, 1], seed=1)
    assert other.state_dict() != model.state_dict()
    other.load_state_dict(nn.load(path))
    assert other.state_dict() == model.state_dict()  # bit for bit
    assert (
        json.loads(path.read_text())["parameters"]["layers.0.neurons.0.w.0"]
        == model.layers[0].neurons[0].w[0].data
    )


def test_a_refused_save_leaves_the_old_file_untouched(tmp_path):
    path = tmp_path / "weights.json"
    model = MLP(2, [2, 1], seed=0)
    nn.save(model.state_dict(), path)
    before = path.read_bytes()
    bad = dict(model.state_dict(), **{"layers.0.neurons.0.b": math.nan})
    with pytest.raises(ValueError, match="non-finite"):
        nn.save(bad, path)
    with pytest.raises(TypeError, match="str"):
        nn.save(dict(model.state_dict(), **{"layers.0.neurons.0.b": "0.5"}), path)
    with pytest.raises(TypeError, match="state_dict"):
        nn.save(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["weights.json"]  # no temporary file left


@pytest.mark.parametrize(
    "content, words",
    [
        ("not json", "not a saved state_dict"),
        ('{"a": 1}', "header"),
        ('{"format": "scalar-autograd state_dict", "version": 2, "parameters": {}}', "version"),
        ('{"format": "scalar-autograd state_dict", "version": 1, "parameters": [1]}', "parameters"),
    ],
)
def test_loading_something_else_is_a_value_error_naming_the_file(tmp_path, content, words):
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=words) as info:
        nn.load(path)
    assert "x.json" in str(info.value)


def test_a_mismatched_file_changes_no_weight(tmp_path):
    small = MLP(2, [2, 1], seed=0)
    path = nn.save(small.state_dict(), tmp_path / "small.json")
    big = MLP(2, [3, 1], seed=0)
    before = big.state_dict()
    with pytest.raises(KeyError):
        big.load_state_dict(nn.load(path))
    assert big.state_dict() == before
