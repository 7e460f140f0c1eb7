"""The names of the model architectures ``emotion_core.classify.network`` can build, without importing Keras to list them."""

from __future__ import annotations

from emotion_core.errors import UnknownArchitectureError

ARCHITECTURES: tuple[str, ...] = ("vgg", "tiny")  # vgg: the shipped one; tiny: for tests and smoke runs
# Not built from a name: several trained models saved as one by train.ensemble, which cannot be a fine-tune's start.
ENSEMBLE = "ensemble"


def check_architecture(name: str) -> str:
    """``name`` if it is a known architecture, else UnknownArchitectureError listing the known ones."""
    if name not in ARCHITECTURES:
        raise UnknownArchitectureError(f"unknown architecture '{name}'; choose one of {', '.join(ARCHITECTURES)}")
    return name
