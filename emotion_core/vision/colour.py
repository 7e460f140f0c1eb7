"""Colour conversions between the layouts decoding can give (grey, BGR, BGRA): detectors read BGR, the model grey."""

from __future__ import annotations

import cv2
import numpy as np


def to_grey(image: np.ndarray) -> np.ndarray:
    """Grey uint8 view of a BGR, BGRA or already grey image."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """BGR uint8 view of a BGR, BGRA or grey image (the CNN backends read three channels)."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image
