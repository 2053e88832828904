"""Saving and loading weights: ``nn.save(model.state_dict(), path)`` and ``nn.load(path)``.

The same two steps as PyTorch (``torch.save`` / ``torch.load``), with a file
format a person can read: JSON, one number per parameter name::

    {"format": "scalar-autograd state_dict", "version": 1,
     "parameters": {"layers.0.neurons.0.w.0": 0.2396..., ...}}

Python writes each float with ``repr``, the shortest text that reads back as
the very same float, so a save-load round trip is exact. The file is written
to a temporary file and renamed into place, so a crash mid-way never leaves
a damaged file; weights that are not finite (a diverged run) are refused
before anything is written.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

from autograd.files import write_atomically

__all__ = ["load", "save"]

FORMAT = "scalar-autograd state_dict"
VERSION = 1


def save(state_dict: Mapping[str, float], path: str | os.PathLike) -> Path:
    """Write a ``state_dict`` (name → float, e.g. ``model.state_dict()``) to ``path`` as JSON."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"save takes a state_dict (a mapping of names to numbers, e.g. model.state_dict()), "
            f"not {type(state_dict).__name__}"
        )
    parameters = {}
    for name, number in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save: parameter names must be strings, not {type(name).__name__}")
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise TypeError(f"save: {name!r} is a {type(number).__name__}, not a number")
        if not math.isfinite(number):
            raise ValueError(f"save: {name!r} is {number}; refusing to save a non-finite weight")
        parameters[name] = float(number)
    document = {"format": FORMAT, "version": VERSION, "parameters": parameters}
    return write_atomically(path, (json.dumps(document, indent=1) + "\n").encode("utf-8"))


def load(path: str | os.PathLike) -> dict[str, float]:
    """Read a file written by :func:`save`; return its ``state_dict``.

    Raises ``ValueError`` naming the file when it is not such a file (other
    JSON, a damaged file, an unknown version). Pass the result to
    ``model.load_state_dict``, which checks the names against the model.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a saved state_dict: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path} is not a saved state_dict (no {FORMAT!r} header)")
    if document.get("version") != VERSION:
        raise ValueError(
            f"{path}: unknown version {document.get('version')!r} (this library reads {VERSION})"
        )
    parameters = document.get("parameters")
    if not isinstance(parameters, dict):
        raise ValueError(f"{path}: 'parameters' must be an object of names to numbers")
    return dict(parameters)
