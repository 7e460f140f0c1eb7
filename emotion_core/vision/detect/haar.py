"""OpenCV's Haar cascade from the opencv-python(-headless) 4.x wheel: the fallback. Frontal upright faces only, no
landmarks (alignment then uses the box)."""

from __future__ import annotations

import cv2
import numpy as np

from emotion_core.errors import DetectorUnavailableError
from emotion_core.records import Detection
from emotion_core.vision.colour import to_grey
from emotion_core.vision.detect.backend import Backend, box_of
from emotion_core.vision.detect.config import MIN_SIDE, DetectorConfig


def load(config: DetectorConfig) -> Backend:
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]  # no stub
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise DetectorUnavailableError("OpenCV's Haar cascade is missing: install opencv-python-headless<5")

    def detect(bgr: np.ndarray) -> list[Detection]:
        grey = cv2.equalizeHist(to_grey(bgr))
        min_side = max(MIN_SIDE, int(min(grey.shape) * config.min_face_fraction))
        found = cascade.detectMultiScale(grey, config.scale_factor, config.min_neighbors, minSize=(min_side, min_side))
        return [Detection(box_of(box)) for box in found]

    return detect
