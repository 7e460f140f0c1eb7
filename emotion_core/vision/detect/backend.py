"""What a face-detector backend is: a loader that, given the settings, returns a function from BGR image to faces.

A loader imports its package inside itself, so listing the backends costs nothing and a missing optional
package is a ``DetectorUnavailableError`` at the moment someone chooses that backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from emotion_core.records import Box, Detection
from emotion_core.vision.detect.config import DetectorConfig


class Backend(Protocol):
    def __call__(self, bgr: np.ndarray) -> list[Detection]:
        """Every face the backend sees in a contiguous BGR uint8 image, in its pixels, unfiltered."""
        ...


BackendLoader = Callable[[DetectorConfig], Backend]


def box_of(values: np.ndarray | Sequence[float]) -> Box:
    """An (x, y, w, h) box of ints from whatever numbers a backend returns."""
    x, y, w, h = (int(v) for v in values)
    return x, y, w, h
