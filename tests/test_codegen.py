"""The generated module: up to date with the operation table, real source, and type-checkable user code."""

from __future__ import annotations

import inspect
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from autograd import Value, codegen
from autograd import value as value_module
from autograd.value import KINDS, OPERATIONS, _variants

ROOT = Path(__file__).resolve().parent.parent


def test_the_generated_module_is_up_to_date():
    """Fails when the table (or codegen.py) changed without ``python -m autograd.codegen``."""
    assert codegen.PATH.read_text(encoding="utf-8") == codegen.generate(), (
        "autograd/_generated.py is out of date: run `python -m autograd.codegen`"
    )
    assert codegen.main(["--check"]) == 0


def test_check_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "_generated.py"
    stale.write_text(
        codegen.generate().replace("Finite for every input.", "Edited by hand."), encoding="utf-8"
    )
    monkeypatch.setattr(codegen, "PATH", stale)
    assert codegen.main(["--check"]) == 1
    assert "out of date: run python -m autograd.codegen" in capsys.readouterr().err
    assert codegen.main([]) == 0  # rewrites it
    assert stale.read_text(encoding="utf-8") == codegen.generate()


def test_the_methods_have_real_source():
    source = inspect.getsource(Value.tanh)
    assert source.lstrip().startswith("def tanh(self) -> Value:") and "out._data = math.tanh(a)" in source
    assert inspect.getsourcefile(Value.__mul__) == str(codegen.PATH)
    assert "out._data = a * b" in inspect.getsource(Value.__rmul__)
    assert (
        Value.tanh.__qualname__ == "Value.tanh" and "d/da = (1.0 - out) * (1.0 + out)" in Value.tanh.__doc__
    )


def test_every_built_in_function_comes_from_the_file_not_from_exec():
    for operation in OPERATIONS.values():
        for variant in _variants(operation):
            for kind in KINDS:
                function = getattr(variant, kind)
                assert function.__code__.co_filename == str(codegen.PATH), (operation.name, kind)
                assert function.__globals__ is vars(value_module)  # it reads no_grad's switch there
    for operation in OPERATIONS.values():  # apply(operation, ...) on a built-in: written out too
        if not operation.nary:
            run = value_module._APPLIERS[operation]
            assert run.__code__.co_filename == str(codegen.PATH) and run.__globals__ is vars(value_module)
    for name in ("__add__", "__radd__", "__neg__", "__abs__", "clamp", "leaky_relu", "maximum", "_rminimum"):
        method = getattr(Value, name)
        assert method.__code__.co_filename == str(codegen.PATH) and method.__globals__ is vars(value_module)


def test_a_failing_built_in_rule_shows_its_line_from_the_file():
    x = Value(2.0)
    y = 1.0 / x
    x.data = 0.0  # the backward's -out / b now divides by zero
    with pytest.raises(ZeroDivisionError) as caught:
        y.backward()
    text = "".join(traceback.format_exception(caught.value))
    assert "_generated.py" in text and "p0.grad += g * (-out / b)" in text


USER_CODE = """\
from autograd import Value

x = Value(2.0, label="x")
y = (x * 3.0 + 1).tanh()
z = 2 * y - x / 4 + x**2 + abs(-x) + x.relu().exp().log() + x.clamp(low=0.0) + x.leaky_relu()
z.backward()
g: float = x.grad + z.data
"""


def _mypy(path: Path) -> subprocess.CompletedProcess:
    """mypy on one file, finding ``autograd`` here; errors inside ``autograd`` are not the file's."""
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--follow-imports=silent",
        "--no-incremental",
        "--cache-dir=/dev/null",
    ]
    return subprocess.run([*command, str(path)], cwd=ROOT, capture_output=True, text=True)


def test_user_code_type_checks(tmp_path):
    """Ordinary user code type-checks: the operators and methods are declared, with their types."""
    snippet = tmp_path / "user_code.py"
    snippet.write_text(USER_CODE, encoding="utf-8")
    result = _mypy(snippet)
    assert result.returncode == 0, result.stdout + result.stderr
    # and a type error in user code is still one
    snippet.write_text(USER_CODE + "w: str = (x * 2).tanh()\n", encoding="utf-8")
    result = _mypy(snippet)
    assert result.returncode == 1
    assert '(expression has type "Value", variable has type "str")' in result.stdout


USER_TRAINING = """\
from autograd import Value
from nn import MLP, Neuron
from nn.losses import mse_loss
from nn.optim import SGD

model = MLP(2, [8, 1], seed=0).eval().train()  # train()/eval() give the MLP back, not a bare Module
xs = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
ys = [1.0, -1.0, 0.5]
opt = SGD(model.parameters(), lr=0.05)
for step in range(3):
    preds: list[Value] = []
    for x in xs:
        out = model(x)  # Value | list[Value]: an MLP's type cannot say how many outputs it has
        assert isinstance(out, Value)  # one output: narrowed, it is a Value
        preds.append(out)
    loss = mse_loss(preds, ys)  # reduction="mean": a Value
    by_hand = sum((p - y) ** 2 for p, y in zip(preds, ys)) / len(ys)
    opt.zero_grad()
    loss.backward()
    opt.step()
per_sample: list[Value] = mse_loss(preds, ys, reduction="none")
h = Neuron(2, "tanh")([0.5, -1.0])  # a Neuron has one output: a Value, no narrowing
h.backward()
number: float = (loss - by_hand).data + h.grad + model.state_dict()["layers.0.neurons.0.b"]
"""

# What the types forbid: each line is an error a type checker must report.
USER_MISTAKES = {
    "model(x) - 1.0": 'Unsupported operand types for - ("list[Value]" and "float")',
    'mse_loss([Value(1.0)], [0.0], reduction="none").backward()': '"list[Value]" has no attribute "backward"',
    "Neuron(2)([1.0, 2.0]).append(1.0)": '"Value" has no attribute "append"',
}


def test_user_code_training_an_mlp_type_checks(tmp_path):
    """Training an MLP type-checks once a one-output model's ``Value | list[Value]`` is narrowed.

    ``model(x)`` is what the module's ``forward`` returns (``Module[Out]``), the
    losses return a ``Value`` unless ``reduction="none"``; and the types are
    precise enough that the mistakes in ``USER_MISTAKES`` are reported.
    """
    snippet = tmp_path / "training.py"
    snippet.write_text(USER_TRAINING, encoding="utf-8")
    result = _mypy(snippet)
    assert result.returncode == 0, result.stdout + result.stderr
    preamble = "from autograd import Value\nfrom nn import MLP, Neuron\nfrom nn.losses import mse_loss\n"
    preamble += "model = MLP(2, [8, 1])\nx = [0.0, 1.0]\n"
    snippet.write_text(preamble + "\n".join(USER_MISTAKES) + "\n", encoding="utf-8")
    result = _mypy(snippet)
    for line, (statement, error) in enumerate(USER_MISTAKES.items(), start=6):
        assert f"training.py:{line}: error: {error}" in result.stdout, (statement, result.stdout)
    assert f"Found {len(USER_MISTAKES)} errors" in result.stdout, result.stdout
