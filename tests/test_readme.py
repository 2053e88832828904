"""The README's Python examples, run top to bottom in one session, as a reader pastes them in turn."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from autograd import Value

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: A fenced block of Python: ```python at the start of a line, up to the closing ```.
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[tuple[int, str]]:
    """(line number of the opening fence, code) for each ```python block of the README, in order."""
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start()) + 1, match[1]) for match in BLOCK.finditer(text)]


def test_the_readme_shows_its_examples_as_python_blocks():
    assert len(python_blocks()) >= 5  # the engine, training, pictures, the page, batch norm


def test_every_readme_example_runs_in_order_in_one_session(tmp_path, monkeypatch, capsys):
    """Issue 20, item 18: the batch-norm example failed (an earlier block had rebound ``y`` to a Value).

    One namespace for all blocks, as in one Python session or notebook; the
    files they write (weights, pictures, the page) go to a temporary directory.
    """
    monkeypatch.chdir(tmp_path)
    session: dict[str, object] = {"__name__": "__readme__"}
    for line, code in python_blocks():
        try:
            exec(compile(code, f"README.md, the block at line {line}", "exec"), session)
        except Exception as error:  # noqa: BLE001 - any failure is reported with its block
            pytest.fail(f"README.md's block at line {line} fails: {type(error).__name__}: {error}\n{code}")
    printed = capsys.readouterr().out.splitlines()
    # the first block's comments: "0.7071..." and "-1.5 1.0 0.5"
    assert [float(n) for n in printed[0].split()] == pytest.approx([0.5**0.5], abs=1e-12)
    assert [float(n) for n in printed[1].split()] == pytest.approx([-1.5, 1.0, 0.5], abs=1e-12)
    assert {p.name for p in tmp_path.iterdir()} >= {"moons.json", "y.svg", "backprop.html"}


def _tensor(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)


@pytest.mark.parametrize(
    "name, ours, theirs, x0",
    [
        ("relu", lambda v: v.relu(), lambda t: t.relu(), -1.0),
        ("clamp", lambda v: v.clamp(0.0, 1.0), lambda t: t.clamp(0.0, 1.0), 5.0),
        ("maximum", lambda v: v.maximum(2.0), lambda t: torch.maximum(t, _tensor(2.0)), 1.0),
        ("minimum", lambda v: v.minimum(0.0), lambda t: torch.minimum(t, _tensor(0.0)), 1.0),
        ("x ** 0", lambda v: v**0, lambda t: t**0, 3.0),
        ("*", lambda v: v * 0.0, lambda t: t * 0.0, 3.0),
    ],
)
@pytest.mark.parametrize("upstream", [math.inf, math.nan])
def test_what_the_readme_says_of_a_non_finite_upstream_times_a_zero_slope(name, ours, theirs, x0, upstream):
    """Issue 20, item 13: the README said this NaN was "as in PyTorch"; for most of these PyTorch gives 0."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    claim = "PyTorch does the same for `*` and `abs`, but its `relu`, `clamp`, `maximum`/`minimum`"
    assert claim in text
    x = Value(x0)
    (ours(x) * Value(upstream)).backward()
    assert math.isnan(x.grad)  # here: upstream × 0 in full
    t = _tensor(x0).requires_grad_()
    theirs(t).backward(_tensor(upstream))
    assert math.isnan(t.grad.item()) if name == "*" else t.grad.item() == 0.0
