"""The detector: a backend run on a downscaled copy, a tiled second pass for small faces in big photos, boxes kept
only where they agree with a face (``checks``), and the eyes of tilted faces re-read on an upright view (YuNet's
lean towards level)."""

from __future__ import annotations

import threading
from dataclasses import replace

import cv2
import numpy as np

from emotion_core.records import Box, Detection, Point, eye_angle, eyes_in_image_order
from emotion_core.vision.colour import to_bgr
from emotion_core.vision.detect.backends import load_backend
from emotion_core.vision.detect.checks import confirmed, face_shaped
from emotion_core.vision.detect.config import MIN_SIDE, DetectorConfig
from emotion_core.vision.detect.tiles import merge, tiles


class FaceDetector:
    """Finds faces; returns ``Detection`` records largest first."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self._backend = load_backend(self.config)
        # The backends keep scratch buffers (cascade, interpreter tensors); the webcam thread and page sessions
        # share one detector.
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        return self.config.backend

    def detect(self, image: np.ndarray, detect_width: int | None = None, second_pass: bool = True) -> list[Detection]:
        """Every face in a BGR, BGRA or grey image, largest first, in the image's pixels.

        ``second_pass=False`` (the webcam's fast settings) skips the tiled search for small faces in big images and
        re-reads a tilted face's eyes only ``refine_steps_fast`` times.
        """
        if image.ndim < 2 or min(image.shape[:2]) < MIN_SIDE:
            return []
        bgr = to_bgr(image)
        width = detect_width or self.config.detect_width
        scale = min(1.0, width / bgr.shape[1])
        found = self._run(_resized(bgr, scale))
        found = [d.scaled(1 / scale) for d in found]
        found = [d for d in found if confirmed(bgr, d, self._run, self.config.check)]
        if second_pass and scale < 1 and (not found or max(bgr.shape[:2]) >= self.config.fine_from):
            # A tile sees a small part of the photo out of context: everything it adds must confirm itself.
            added = [d for d in self._tiled(bgr) if confirmed(bgr, d, self._run, self.config.check, always=True)]
            found = merge(found, added, self.config.same_face_overlap)
        steps = self.config.refine_steps if second_pass else self.config.refine_steps_fast
        found = [self._refined(bgr, d, steps) for d in found]
        return sorted(found, key=lambda d: d.area, reverse=True)

    def boxes(self, image: np.ndarray, detect_width: int | None = None, second_pass: bool = True) -> list[Box]:
        """Only the boxes of ``detect``, for callers that need no landmarks."""
        return [d.box for d in self.detect(image, detect_width, second_pass)]

    def _run(self, image: np.ndarray) -> list[Detection]:
        with self._lock:
            found = self._backend(np.ascontiguousarray(image))
        return [d for d in found if d.confidence >= self.config.min_confidence and face_shaped(d, self.config.check)]

    def _refined(self, bgr: np.ndarray, detection: Detection, steps: int) -> Detection:
        """``detection`` with its eyes re-read on a view turned upright by their angle (tilted faces only)."""
        for _ in range(steps):
            angle = eye_angle(detection)
            if angle is None or abs(angle) < self.config.refine_from:
                break
            x, y, w, h = detection.box
            side = 2 * max(w, h)
            scale = min(1.0, self.config.refine_side / side)
            view_side = max(MIN_SIDE, int(round(side * scale)))
            matrix = cv2.getRotationMatrix2D((x + w / 2, y + h / 2), angle, scale)
            matrix[0, 2] += view_side / 2 - x - w / 2
            matrix[1, 2] += view_side / 2 - y - h / 2
            view = cv2.warpAffine(bgr, matrix, (view_side, view_side), borderMode=cv2.BORDER_REPLICATE)
            found = [d for d in self._run(view) if d.has_eyes]
            if not found:
                break
            centre = view_side / 2
            best = min(
                found, key=lambda d: abs(d.box[0] + d.box[2] / 2 - centre) + abs(d.box[1] + d.box[3] / 2 - centre)
            )
            back = cv2.invertAffineTransform(matrix)
            eyes = [_mapped(back, p) for p in (best.left_eye, best.right_eye) if p is not None]
            left, right = eyes_in_image_order(eyes[0], eyes[1])
            detection = replace(detection, left_eye=left, right_eye=right)
        return detection

    def _tiled(self, bgr: np.ndarray) -> list[Detection]:
        """The image at up to ``fine_width``, searched tile by tile; detections in the image's pixels."""
        scale = min(1.0, self.config.fine_width / bgr.shape[1])
        fine = _resized(bgr, scale)
        found: list[Detection] = []
        for x, y, tile in tiles(fine, self.config.tile, self.config.tile_overlap):
            found = merge(found, [d.scaled(1 / scale, (x, y)) for d in self._run(tile)], self.config.same_face_overlap)
        return found


def _mapped(matrix: np.ndarray, point: Point) -> Point:
    x, y = matrix @ np.array([point[0], point[1], 1.0])
    return float(x), float(y)


def _resized(image: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
