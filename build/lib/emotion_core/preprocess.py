"""The one preprocessing path shared by training and inference: crop, grey, 48x48.

Scaling to [0, 1] happens inside the model (a Rescaling layer), so every caller, including a
TFLite export, feeds the same uint8 48x48 array and cannot forget or double the scaling.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emotion_core.faces import Box, to_grey

INPUT_SIZE = 48


@dataclass(frozen=True)
class PreprocessConfig:
    # FER2013 crops show the face from brow to chin with a little hair and background; a Haar box
    # is slightly tighter, so we widen it by this fraction of its side on every edge.
    margin: float = 0.1
    size: int = INPUT_SIZE


def face_crop(image: np.ndarray, box: Box, margin: float = PreprocessConfig.margin) -> np.ndarray:
    """Square grey crop around ``box`` widened by ``margin``; edges replicate where it leaves the frame."""
    grey = to_grey(image)
    x, y, w, h = box
    side = int(round(max(w, h) * (1 + 2 * margin)))
    cx, cy = x + w / 2, y + h / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    pad = max(0, -left, -top, left + side - grey.shape[1], top + side - grey.shape[0])
    if pad:
        grey = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return grey[top + pad : top + pad + side, left + pad : left + pad + side]


def to_model_input(face: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """A face image (any size, grey or BGR) as the model's uint8 ``size`` x ``size`` grey input."""
    grey = to_grey(face)
    if grey.shape != (size, size):
        shrinking = grey.shape[0] > size or grey.shape[1] > size
        grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return np.ascontiguousarray(grey, dtype=np.uint8)


def faces_to_batch(image: np.ndarray, boxes: list[Box], config: PreprocessConfig | None = None) -> np.ndarray:
    """All faces of one frame as a (n, size, size, 1) uint8 batch, so they are classified in one call."""
    config = config or PreprocessConfig()
    batch = np.empty((len(boxes), config.size, config.size, 1), dtype=np.uint8)
    for i, box in enumerate(boxes):
        batch[i, :, :, 0] = to_model_input(face_crop(image, box, config.margin), config.size)
    return batch
