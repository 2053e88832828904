"""``gradcheck``: agreement, disagreement, and leaving its inputs as they were."""

from __future__ import annotations

import pytest

from autograd import Value, gradcheck


def test_a_correct_gradient_passes():
    a, b = Value(0.3), Value(-1.2)
    assert gradcheck(lambda x, y: (x * y).tanh() + x.exp() / (y * y + 1), [a, b]) is True


def test_a_wrong_gradient_fails_listing_each_mismatch():
    # Using x.data inside fn hides one path from backprop: d(x*x.data)/dx is
    # really 2x, but backprop sees only x.data.
    x, y = Value(1.5, label="x"), Value(2.0, label="y")
    with pytest.raises(AssertionError) as info:
        gradcheck(lambda a, b: a * a.data + b, [x, y])
    message = str(info.value)
    assert "x" in message and "1.5" in message and "2.9999" in message  # the true slope, 2x = 3
    assert "y:" not in message  # y's gradient was right


def test_inputs_are_left_as_they_were():
    x = Value(1.5)
    x.grad = 7.0
    gradcheck(lambda a: a.sin(), [x])
    assert x.data == 1.5 and x.grad == 7.0
    with pytest.raises(AssertionError):
        gradcheck(lambda a: a * a.data, [x])
    assert x.data == 1.5 and x.grad == 7.0


def test_bad_arguments_are_type_errors():
    with pytest.raises(TypeError, match="input 0"):
        gradcheck(lambda a: a, [1.0])
    with pytest.raises(TypeError, match="return a Value"):
        gradcheck(lambda a: 1.0, [Value(1.0)])
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda a: a, [Value(1.0)], eps=0.0)
