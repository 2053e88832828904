"""Saving and loading weights: ``nn.save(model.state_dict(), path)`` and ``nn.load(path)``.

The same two steps as PyTorch (``torch.save`` / ``torch.load``), with a file
format a person can read: JSON, one number per parameter name::

    {"format": "scalar-autograd state_dict", "version": 1,
     "parameters": {"layers.0.neurons.0.w.0": 0.2396..., ...}}

Python writes each float with ``repr``, the shortest text that reads back as
the very same float, so a save-load round trip is exact. Weights that are not
finite numbers (a diverged run) are refused before anything is written. The
file is written by :func:`autograd.files.write_atomically`: to a temporary
file, then renamed into place, so a crash mid-way never leaves a damaged file.

``load`` trusts nothing in the file: it must be this format, version 1, with
no duplicate or unknown keys, each weight a finite number (a UTF-8 byte-order
mark is fine). Every refusal is a ``ValueError`` naming the file and the key.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from autograd.files import write_atomically

from .checks import finite_float

__all__ = ["load", "save"]

FORMAT = "scalar-autograd state_dict"
VERSION = 1
_KEYS = ("format", "version", "parameters")


def save(state_dict: Mapping[str, float], path: str | os.PathLike) -> Path:
    """Write a ``state_dict`` (name → number, e.g. ``model.state_dict()``) to ``path`` as JSON.

    Each number must be finite and real: ``int``, ``float`` or a NumPy scalar
    (``np.float32``, ``np.int64``), written as a float. ``TypeError`` for
    anything else, ``ValueError`` for NaN or ±inf, ``OverflowError`` for a
    number too large for a float (``10**400``); each names the key, and
    nothing is written.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"save takes a state_dict (a mapping of names to numbers, e.g. model.state_dict()), "
            f"not {type(state_dict).__name__}"
        )
    parameters = {}
    for name, number in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save: parameter names must be strings, not {type(name).__name__}")
        parameters[name] = finite_float(number, f"save to {os.fspath(path)}: {name!r}")
    document = {"format": FORMAT, "version": VERSION, "parameters": parameters}
    return write_atomically(path, (json.dumps(document, indent=1) + "\n").encode("utf-8"))


def load(path: str | os.PathLike) -> dict[str, float]:
    """Read a file written by :func:`save`; return its ``state_dict`` (name → float).

    Raises ``ValueError`` naming the file, and the key where there is one,
    when it is not such a file: other JSON, a damaged file, an unknown or
    non-integer version, a duplicate or unknown key, a weight that is not a
    finite number. Pass the result to ``model.load_state_dict``, which checks
    the names against the model.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")  # -sig: a byte-order mark is skipped
        if _nesting_depth(text) > MAX_NESTING:
            raise RecursionError
        document = json.loads(text, object_pairs_hook=_without_duplicates, parse_int=_integer)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a saved state_dict: {error}") from None
    except _DuplicateKey as error:
        raise ValueError(f"{path}: duplicate key {error.key!r} (a key may appear once)") from None
    except RecursionError:
        raise ValueError(f"{path} is not a saved state_dict: its JSON is nested too deeply") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a saved state_dict (no 'format': {FORMAT!r} header)")
    for key in _KEYS:
        if key not in document:
            raise ValueError(f"{path}: no {key!r} key")
    for key in document:
        if key not in _KEYS:
            raise ValueError(f"{path}: unexpected key {key!r} (a version {VERSION} file has {list(_KEYS)})")
    version = document["version"]
    if type(version) is not int:
        raise ValueError(f"{path}: 'version' must be the integer {VERSION}, not {version!r}")
    if version != VERSION:
        raise ValueError(f"{path}: unknown 'version' {version} (this library reads {VERSION})")
    parameters = document["parameters"]
    if not isinstance(parameters, dict):
        raise ValueError(f"{path}: 'parameters' must be an object of names to numbers")
    return {name: _weight(path, name, number) for name, number in parameters.items()}


#: How deeply a saved file may nest JSON arrays and objects (a saved state_dict nests 2 deep).
MAX_NESTING = 32


#: The only text that matters for nesting: a quote, a bracket, or a backslash and the character it
#: escapes. Each match is one or two characters and the pattern repeats nothing, so finding them all
#: is one pass over the text: a malformed file of n bytes costs O(n), never O(n²).
_TOKEN = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def _nesting_depth(text: str) -> int:
    r"""The deepest nesting of ``[``/``{`` in a JSON text (brackets inside strings do not count).

    Checked before parsing: the JSON parser recurses once per level in C, and
    with a raised recursion limit a deeply nested file could crash the process
    instead of raising ``RecursionError``.

    One pass, left to right, remembering only whether we are inside a string:
    a ``"`` opens or closes one, and an escape (``\"``, ``\\``) inside one is
    skipped whole. (Matching each whole string with a pattern such as
    ``"(?:[^"\\]|\\.)*"`` instead costs O(n²) on an unterminated one: the match
    is retried from every quote, and each try runs to the end of the text.)
    A backslash outside a string is invalid JSON: the parser refuses the file
    there, so nothing after it can nest.

    >>> _nesting_depth(r'{"a": [1, "]]]\\"], "b": "[\"["}')
    2
    """
    depth = deepest = 0
    in_string = False
    for token in _TOKEN.finditer(text):
        char = token.group()
        if in_string:
            in_string = char != '"'  # an escape pair or a bracket inside a string changes nothing
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
        else:  # a backslash outside a string
            break
    return deepest


def _weight(path: Path, name: str, number: object) -> float:
    """One weight read from ``path``, as a float; ``ValueError`` naming the file and the key otherwise."""
    if isinstance(number, _LongInteger):
        raise ValueError(f"{path}: parameter {name!r} is {number!r}, too large for a float")
    try:
        return finite_float(number, f"parameter {name!r}")
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{path}: {error}") from None


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object as a dict, refusing a key that appears twice (``json`` would keep the last)."""
    document: dict[str, object] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKey(key)
        document[key] = value
    return document


class _LongInteger:
    """A JSON integer too long for Python to convert (over 4300 digits): kept as its length only."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"an integer of {self.digits} digits"


def _integer(text: str) -> int | _LongInteger:
    """JSON integers as ``int``, except those Python refuses to convert (``sys.get_int_max_str_digits``)."""
    digits = len(text.lstrip("-"))
    limit = sys.get_int_max_str_digits()
    return _LongInteger(digits) if limit and digits > limit else int(text)
