"""Saving and loading weights: exact round trips, atomic writes, clear errors."""

from __future__ import annotations

import json
import math
import re

import numpy as np
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
    with pytest.raises(ValueError, match=r"'layers.0.neurons.0.b' is nan"):
        nn.save(bad, path)
    with pytest.raises(TypeError, match="str"):
        nn.save(dict(model.state_dict(), **{"layers.0.neurons.0.b": "0.5"}), path)
    with pytest.raises(TypeError, match="state_dict"):
        nn.save(model, path)
    assert path.read_bytes() == before


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


def saved_file(parameters="{}", version="1", more=""):
    """The text of a state_dict file, with the given JSON pieces."""
    header = '"format": "scalar-autograd state_dict"'
    return f'{{{header}, "version": {version}, "parameters": {parameters}{more}}}'


DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize(
    "content, words",
    [
        (saved_file('{"w": 1' + "0" * 5000 + "}"), r"'w' is an integer of 5001 digits, too large"),
        (saved_file('{"w": 1e400}'), r"'w' is inf"),
        (saved_file('{"w": NaN}'), r"'w' is nan"),
        (saved_file('{"w": "0.5"}'), r"'w' must be a real number, not str"),
        (saved_file('{"w": true}'), r"'w' must be a real number, not bool"),
        (saved_file('{"w": null}'), r"'w' must be a real number, not NoneType"),
        (saved_file('{"w": 1, "w": 2}'), r"duplicate key 'w'"),
        (saved_file(more=', "version": 1'), r"duplicate key 'version'"),
        (saved_file(version="true"), r"'version' must be the integer 1, not True"),
        (saved_file(version="1.0"), r"'version' must be the integer 1, not 1.0"),
        (saved_file(version="2"), r"unknown 'version' 2 \(this library reads 1\)"),
        ('{"format": "scalar-autograd state_dict", "parameters": {}}', r"no 'version'"),
        ('{"format": "scalar-autograd state_dict", "version": 1}', r"no 'parameters'"),
        (saved_file(more=', "extra": 0'), r"unexpected key 'extra'"),
        ("[" * 100_000 + "]" * 100_000, r"nested too deeply"),
        (saved_file('{"w": ' + DEEP + "}"), "nested too deeply"),
    ],
)
def test_every_refusal_names_the_file_and_the_key(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=words) as info:
        nn.load(path)
    assert str(path) in str(info.value)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    model = MLP(2, [2, 1], seed=0)
    path = nn.save(model.state_dict(), tmp_path / "w.json")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Windows Notepad saves UTF-8
    assert nn.load(path) == model.state_dict()


def test_loaded_numbers_are_python_floats(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(saved_file('{"a": 1, "b": -2.5}'))
    state = nn.load(path)
    assert state == {"a": 1.0, "b": -2.5} and [type(v) for v in state.values()] == [float, float]


def test_save_accepts_numpy_scalars_as_load_state_dict_does(tmp_path):
    state = {"a": np.float32(0.1), "b": np.int64(3), "c": np.float64(-2.5)}
    path = nn.save(state, tmp_path / "w.json")
    assert nn.load(path) == {"a": float(np.float32(0.1)), "b": 3.0, "c": -2.5}


def test_save_refuses_a_number_too_large_for_a_float_naming_key_and_number(tmp_path):
    path = tmp_path / "w.json"
    with pytest.raises(OverflowError, match=r"'big' is 100000…000 \(401 digits\), too large for a float"):
        nn.save({"small": 1.0, "big": 10**400}, path)
    assert not path.exists()


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_an_error_after_the_temporary_file_exists_leaves_the_old_file_and_no_temporary_file(
    tmp_path, monkeypatch, error
):
    path = tmp_path / "weights.json"
    model = MLP(2, [2, 1], seed=0)
    nn.save(model.state_dict(), path)
    before = path.read_bytes()
    seen = []

    def failing_replace(src, dst):  # the rename into place fails (full disk, Ctrl-C...)
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        raise error

    monkeypatch.setattr("os.replace", failing_replace)
    with pytest.raises(type(error)):
        nn.save(MLP(2, [2, 1], seed=1).state_dict(), path)
    monkeypatch.undo()
    [names] = seen  # at the rename: the old file and the complete temporary file
    assert len(names) == 2 and re.fullmatch(r"\.weights\.json\.\d+\.[0-9a-f]{8}\.tmp", names[0])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["weights.json"]  # and it was removed


def test_deep_json_is_refused_even_with_a_raised_recursion_limit(tmp_path):
    """The C JSON parser recurses per level: with a raised limit, 100,000 levels would crash the process."""
    import sys

    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)
    try:
        with pytest.raises(ValueError, match="nested too deeply"):
            nn.load(path)
    finally:
        sys.setrecursionlimit(limit)


class _CountingPattern:
    """Stands in for the pre-scan's pattern: counts the scans of the text and records every match."""

    def __init__(self, pattern: re.Pattern) -> None:
        self.pattern, self.scans, self.spans = pattern, 0, []

    def finditer(self, text: str):
        self.scans += 1
        for match in self.pattern.finditer(text):
            self.spans.append(match.span())
            yield match


try:  # Python's own parser of regular expressions (``sre_parse`` before 3.11)
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants
    import sre_parse

_REPEATS = {getattr(sre_constants, name, None) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")}


def _repeats(parsed) -> bool:
    """Whether a parsed regular expression contains a repetition (``*``, ``+``, ``?``, ``{m,n}``) anywhere."""
    for op, argument in parsed:
        if op in _REPEATS:
            return True
        nested = argument if isinstance(argument, (list, tuple)) else ()
        for item in nested:
            if isinstance(item, sre_parse.SubPattern) and _repeats(item):
                return True
            if isinstance(item, (list, tuple)) and any(
                isinstance(sub, sre_parse.SubPattern) and _repeats(sub) for sub in item
            ):
                return True
    return False


@pytest.mark.parametrize("bad", ['["' + '\\"' * 4_000, '["' + "\\" * 8_000, '{"a": "' + "[" * 8_000])
def test_a_malformed_file_is_refused_in_one_linear_pass(tmp_path, monkeypatch, bad):
    """Issue 20, item 6: ``'["' + '\\\\"' * 40000`` (80 KB) took 18 s of CPU to refuse (quadratic).

    The nesting pre-scan matched each string with a repeating pattern, retried
    from every quote to the end of an unterminated string. Now: one scan of
    the text, for a pattern that repeats nothing (so each match attempt costs
    O(1)), its matches one or two characters long and moving forward only;
    four times the text is at most four times the matches.
    """
    from nn import serialization

    assert not _repeats(sre_parse.parse(serialization._TOKEN.pattern, serialization._TOKEN.flags))
    matches = {}
    for copies in (1, 4):
        counter = _CountingPattern(serialization._TOKEN)
        monkeypatch.setattr(serialization, "_TOKEN", counter)
        path = tmp_path / "bad.json"
        text = bad[:2] + bad[2:] * copies
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match="bad.json is not a saved state_dict"):
            nn.load(path)
        monkeypatch.undo()
        assert counter.scans == 1
        assert all(end - start in (1, 2) for start, end in counter.spans)
        ends, starts = [end for _, end in counter.spans[:-1]], [start for start, _ in counter.spans[1:]]
        assert all(end <= start for end, start in zip(ends, starts, strict=True))
        matches[copies] = len(counter.spans)
    assert 0 < matches[4] <= 4 * matches[1]


@pytest.mark.parametrize(
    "text, depth",
    [
        ('{"a": [1, "]]]\\\\"], "b": "[\\"["}', 2),  # brackets and escaped quotes inside strings
        ('[[["\\\\\\"[["]]]', 3),
        ('[{"[": {"{": []}}]', 4),
        ("[1, 2] \\ [[[[", 1),  # a backslash outside a string: the parser stops there
        ('"unterminated [[[', 0),
    ],
)
def test_the_nesting_pre_scan_counts_only_brackets_outside_strings(text, depth):
    from nn.serialization import _nesting_depth

    assert _nesting_depth(text) == depth
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return
    deepest, level = 0, [(parsed, 1)]
    while level:
        item, d = level.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, d)
            level.extend((child, d + 1) for child in (item.values() if isinstance(item, dict) else item))
    assert deepest == depth
