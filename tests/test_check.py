"""``gradcheck``: agreement, disagreement, and leaving its inputs as they were."""

from __future__ import annotations

import math

import pytest

from autograd import Value, gradcheck, no_grad


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


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"eps": "a"}, TypeError, "eps must be a real number, not str"),
        ({"eps": True}, TypeError, "eps must be a real number, not bool"),
        ({"eps": -1e-6}, ValueError, r"eps must be a finite number > 0, not -1e-06"),
        ({"eps": math.nan}, ValueError, r"eps must be a finite number > 0, not nan"),
        ({"eps": math.inf}, ValueError, r"eps must be a finite number > 0, not inf"),
        ({"rtol": -1e-5}, ValueError, r"rtol must be a finite number >= 0, not -1e-05"),
        ({"rtol": math.nan}, ValueError, r"rtol must be a finite number >= 0, not nan"),
        ({"rtol": None}, TypeError, "rtol must be a real number, not NoneType"),
        ({"atol": -1.0}, ValueError, r"atol must be a finite number >= 0, not -1.0"),
        ({"atol": math.inf}, ValueError, r"atol must be a finite number >= 0, not inf"),
        ({"atol": "0"}, TypeError, "atol must be a real number, not str"),
    ],
)
def test_bad_tolerances_are_refused_naming_the_argument(kwargs, error, words):
    x = Value(0.5)
    with pytest.raises(error, match=f"^gradcheck: {words}$"):
        gradcheck(lambda a: a.tanh(), [x], **kwargs)
    assert x.data == 0.5 and x.grad == 0.0


def test_zero_tolerances_and_integer_arguments_are_fine():
    assert gradcheck(lambda a: a * 3, [Value(2.0)], eps=1, rtol=0, atol=1e-9) is True


def test_gradcheck_refuses_to_run_with_recording_off():
    x = Value(1.5)
    with no_grad():
        with pytest.raises(RuntimeError, match="recording is off.*no_grad"):
            gradcheck(lambda a: a * a, [x])
    assert x.data == 1.5 and x.grad == 0.0
    assert gradcheck(lambda a: a * a, [x]) is True  # outside no_grad it runs
