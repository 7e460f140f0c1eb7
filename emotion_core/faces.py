"""Face detection with OpenCV's Haar cascade, which ships inside the opencv-python(-headless) 4.x wheel.

Measured on the 50 Yale photos in ../shared/data/faces: exactly one face in each, ~9 ms per 320x243
photo on 2 cores (see benchmarks/). Detection runs on a copy downscaled to ``detect_width`` so a
640x480 webcam frame costs about the same as a small photo.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x, y, w, h in the frame's pixels
Point = tuple[float, float]  # x, y in the frame's pixels


@dataclass(frozen=True)
class Detection:
    """One face found in a frame: its box, the detector's confidence and, where the backend gives them, the eyes.

    Eyes are named as they appear in the image (``left_eye`` has the smaller x), so alignment needs no
    convention about whose left is meant. A backend without landmarks (Haar) leaves them None.
    """

    box: Box
    confidence: float = 1.0
    left_eye: Point | None = None
    right_eye: Point | None = None

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]


@dataclass(frozen=True)
class DetectorConfig:
    scale_factor: float = 1.1  # pyramid step; smaller finds more faces but costs time
    min_neighbors: int = 5  # how many overlapping hits make a face; 5 rejects texture false positives
    min_face_fraction: float = 0.08  # smallest face side as a fraction of the shorter image side
    # Downscale wider images to this before detecting: keeps 40 px faces in a 1280 px group photo
    # findable. The webcam passes a smaller width (LiveConfig.detect_width): its faces are large.
    detect_width: int = 640


class FaceDetector:
    """Finds frontal faces; returns boxes largest first."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]  # no stub
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"OpenCV Haar cascade missing at {path}: install opencv-python-headless<5")
        # CascadeClassifier keeps scratch buffers; the webcam thread and page sessions share one detector.
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray, detect_width: int | None = None) -> list[Box]:
        """Boxes (x, y, w, h) of the faces in a BGR or grey image, largest first."""
        grey = to_grey(image)
        scale = min(1.0, (detect_width or self.config.detect_width) / grey.shape[1])
        small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
        small = cv2.equalizeHist(small)
        min_side = max(20, int(min(small.shape) * self.config.min_face_fraction))
        with self._lock:
            found = self._cascade.detectMultiScale(
                small, self.config.scale_factor, self.config.min_neighbors, minSize=(min_side, min_side)
            )
        boxes: list[Box] = [_unscaled(box, scale) for box in found]
        return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def _unscaled(box: Sequence[int], scale: float) -> Box:
    """A box found on the downscaled copy, in the original frame's pixels."""
    x, y, w, h = (int(round(v / scale)) for v in box)
    return x, y, w, h


def to_grey(image: np.ndarray) -> np.ndarray:
    """Grey uint8 view of a BGR, BGRA or already grey image."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
