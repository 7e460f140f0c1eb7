"""Plain types every stage shares: a box, a detected face, a classified face. No TensorFlow, no OpenCV here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Box = tuple[int, int, int, int]  # x, y, w, h in the frame's pixels
Point = tuple[float, float]  # x, y in the frame's pixels


@dataclass(frozen=True)
class Detection:
    """One face found in a frame: its box, the detector's confidence and, where the backend gives them, landmarks.

    Eyes are named as they appear in the image (``left_eye`` has the smaller x), so alignment needs no
    convention about whose left is meant. A backend without landmarks (Haar) leaves them None. The nose tip and
    the mouth's corners (image order) let the detector check that a box has a face's shape.
    """

    box: Box
    confidence: float = 1.0
    left_eye: Point | None = None
    right_eye: Point | None = None
    nose: Point | None = None
    mouth: tuple[Point, Point] | None = None

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

        def moved(p: Point) -> Point:
            return (p[0] + dx) * factor, (p[1] + dy) * factor

        def point(p: Point | None) -> Point | None:
            return None if p is None else moved(p)

        mouth = None if self.mouth is None else (moved(self.mouth[0]), moved(self.mouth[1]))
        return Detection(box, self.confidence, point(self.left_eye), point(self.right_eye), point(self.nose), mouth)


def eye_angle(detection: Detection) -> float | None:
    """Angle of the eye line in degrees (positive: the right-hand eye lower in the image); None without eyes."""
    if detection.left_eye is None or detection.right_eye is None:
        return None
    (lx, ly), (rx, ry) = detection.left_eye, detection.right_eye
    return math.degrees(math.atan2(ry - ly, rx - lx))


def eyes_in_image_order(a: Point, b: Point) -> tuple[Point, Point]:
    """(left, right) as seen in the image: the smaller x first."""
    return (a, b) if a[0] <= b[0] else (b, a)


BOX_COLUMNS = ("x", "y", "w", "h")


@dataclass(frozen=True)
class Face:
    """One classified face: its box in the frame and a probability per class, in the model's label order."""

    box: Box
    scores: dict[str, float]
    # What the detector found (eyes included), so a later crop (explain's overlay) matches the model's; None for a
    # bare box. Not part of the JSON contract.
    detection: Detection | None = field(default=None, compare=False, repr=False)

    @property
    def emotion(self) -> str:
        return max(self.scores, key=self.scores.__getitem__)

    @property
    def confidence(self) -> float:
        return self.scores[self.emotion]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of DESIGN.md's CLI contract."""
        return {
            "box": [int(v) for v in self.box],
            "emotion": self.emotion,
            "scores": {k: round(float(v), 4) for k, v in self.scores.items()},
        }

    def to_row(self) -> dict[str, Any]:
        """One flat CSV row: x, y, w, h, emotion and a column per class (photos and videos share it)."""
        record = self.to_dict()
        return {**dict(zip(BOX_COLUMNS, record["box"], strict=True)), "emotion": record["emotion"], **record["scores"]}
