"""YuNet (libfacedetection, BSD-3) from the ``yuface`` wheel: weights compiled in, no TensorFlow, five landmarks.

Measured by ``benchmarks/detector.py`` on the 50 Yale photos and variants of them (rotated 20°/35°, γ 2.5 dark,
JPEG q20, face cut past the centre, 2x2 grid, a photo pasted small on a 4000x3000 canvas) and 974 TCFE photos:
every face in every variant (45/50 where 40 % of the face is cut off), ~20 ms per 640x480 frame and ~6 ms at the
webcam's 320 px (benchmarks/RESULTS.md). Chosen over BlazeFace because it also finds the small face on the big
canvas (10/10 against 1/10).

yuface's vendored OpenMP runtime busy-waits between calls unless ``OMP_WAIT_POLICY=PASSIVE`` is set before it
loads; entry points set it (``emotion_core.settings.apply_process_defaults``), this module does not. Its Python
binding leaks 36 kB a call, so detection goes through ``yuface_compat`` (the same C function, a reused buffer).
"""

from __future__ import annotations

import warnings
from types import ModuleType

import numpy as np

from emotion_core.errors import DetectorUnavailableError
from emotion_core.records import Detection, eyes_in_image_order
from emotion_core.vision.detect import yuface_compat
from emotion_core.vision.detect.backend import Backend, box_of
from emotion_core.vision.detect.config import DetectorConfig

# The score a raw row must pass (a fraction; rows hold percent); ours (DetectorConfig.min_confidence) comes after.
RAW_THRESHOLD = 0.3


def load(config: DetectorConfig) -> Backend:
    try:
        import yuface
    except ImportError:
        raise DetectorUnavailableError("the yunet face detector needs the yuface package: pip install yuface") from None
    raw = yuface_compat.load() or _binding(yuface)  # the binding leaks 36 kB a call: only where the library is hidden

    def detect(bgr: np.ndarray) -> list[Detection]:
        rows = raw(bgr)
        found = []
        for row in rows[rows[:, 0] > RAW_THRESHOLD * 100]:
            points = row[5:15].reshape(5, 2).tolist()  # eye, eye, nose, mouth corner, mouth corner
            left, right = eyes_in_image_order(
                (float(points[0][0]), float(points[0][1])), (float(points[1][0]), float(points[1][1]))
            )
            mouth = eyes_in_image_order(
                (float(points[3][0]), float(points[3][1])), (float(points[4][0]), float(points[4][1]))
            )
            nose = (float(points[2][0]), float(points[2][1]))
            found.append(Detection(box_of(row[1:5]), float(row[0]) / 100, left, right, nose, mouth))
        return found

    return detect


def _binding(yuface: ModuleType) -> yuface_compat.RawDetect:
    """yuface's own call, as raw rows: (n, 15), score in percent, box, landmarks."""

    def detect(bgr: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():  # it warns past 960 px; tiles keep the second pass below that
            warnings.simplefilter("ignore", UserWarning)
            confidences, boxes, landmarks = yuface.detect(bgr, conf=0)
        return np.column_stack([confidences, boxes, landmarks])

    return detect
