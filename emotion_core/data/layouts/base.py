"""What a dataset layout gives the reader: its samples, and a way to read and decode each one.

A layout is a module with ``NAME``, ``accepts(path) -> bool`` and ``open(path) -> Listing``; registering one is a
line in ``emotion_core.data.layouts.LAYOUTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from emotion_core.errors import InvalidImageError

# No face image is anywhere near this; a file or zip member claiming more is a zip bomb or not a dataset image.
MAX_IMAGE_BYTES = 50 * 2**20
LAYOUT_HELP = "expected <split>/<class>/<image> (e.g. train/happy/001.jpg) or a fer2013.csv"


@dataclass(frozen=True)
class Sample:
    split: str
    label: str  # canonical class name
    ref: str  # path relative to the dataset root, zip member name, or CSV line number


Read = Callable[[Sample], bytes]


class SampleSource(Protocol):
    def reading(self) -> AbstractContextManager[Read]:
        """A reader of samples' raw bytes, kept open for many reads (a zip handle, say)."""
        ...

    def decode(self, data: bytes, ref: str) -> np.ndarray:
        """One sample's bytes as an image (BGR or grey uint8); EmotionCoreError if they are not one."""
        ...


@dataclass(frozen=True)
class Listing:
    """A dataset as listed by its layout, before any image is decoded."""

    samples: list[Sample]
    source: SampleSource
    # Entries left out, with why: CSV lines that are not a fer2013 row, zip members with unsafe names.
    rejected: list[tuple[str, str]] = field(default_factory=list)
    crops_only: bool = False  # every image is a face crop already (fer2013.csv): 'auto' needs no sample


def check_size(name: str, size: int) -> None:
    if size > MAX_IMAGE_BYTES:
        raise InvalidImageError(f"{name} is {size:,} bytes, over the {MAX_IMAGE_BYTES:,} allowed for one image")
