"""The networks ``emotion_core.classify.network`` can build, by name, listable without importing Keras.

Adding one: a module here with ``build(x, num_classes) -> logits`` (Keras functional layers on the rescaled
face), and a line in ``ARCHITECTURES``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emotion_core.errors import UnknownArchitectureError

ARCHITECTURES: dict[str, str] = {  # name -> module in this package
    "vgg": "vgg",  # the shipped one
    "tiny": "tiny",  # for tests and smoke runs
    "student": "student",  # depthwise-separable, for CPU inference (issue 25; not yet trained)
}
# Not built from a name: several trained models saved as one by train.ensemble, which cannot be a fine-tune's start.
ENSEMBLE = "ensemble"


def check_architecture(name: str) -> str:
    """``name`` if it is a known architecture, else UnknownArchitectureError listing the known ones."""
    if name not in ARCHITECTURES:
        raise UnknownArchitectureError(f"unknown architecture '{name}'; choose one of {', '.join(ARCHITECTURES)}")
    return name


def builder(name: str) -> Callable[[Any, int], Any]:
    """The ``build`` function of architecture ``name`` (imports Keras)."""
    module = importlib.import_module(f"{__name__}.{ARCHITECTURES[check_architecture(name)]}")
    return module.build


def summary(name: str) -> str:
    """The first line of architecture ``name``'s module docstring (what it is, in words), read without importing
    it (no Keras); "" for a name this version cannot build."""
    spec = importlib.util.find_spec(f"{__name__}.{ARCHITECTURES[name]}") if name in ARCHITECTURES else None
    if spec is None or not spec.origin:
        return ""
    try:
        docstring = ast.get_docstring(ast.parse(Path(spec.origin).read_text())) or ""
    except (OSError, SyntaxError):
        return ""
    return docstring.strip().splitlines()[0] if docstring.strip() else ""
