"""Whether a box agrees with a face: its landmarks' shape, and a second look at a doubtful score.

YuNet's score alone lets through things that look like a face at one scale (a headlight, a dog, plain background
beside a portrait). A face keeps a face's shape, and scores alike when looked at again upright and at other sizes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

import cv2
import numpy as np

from emotion_core.records import Box, Detection, eye_angle
from emotion_core.vision.detect.config import FaceCheck

Look = Callable[[np.ndarray], list[Detection]]


def face_shaped(detection: Detection, check: FaceCheck) -> bool:
    """Eyes above nose above mouth, a plausible eye gap for the box, nose near the middle, all in the box.

    A backend without landmarks (Haar) passes: there is nothing to check.
    """
    d = detection
    if d.left_eye is None or d.right_eye is None or d.nose is None or d.mouth is None:
        return True
    x, y, w, h = d.box
    points = np.array([d.left_eye, d.right_eye, d.nose, *d.mouth])
    margin_x, margin_y = check.landmark_margin * w, check.landmark_margin * h
    inside = (
        (points[:, 0] >= x - margin_x).all()
        and (points[:, 0] <= x + w + margin_x).all()
        and (points[:, 1] >= y - margin_y).all()
        and (points[:, 1] <= y + h + margin_y).all()
    )
    left, right, nose = points[0], points[1], points[2]
    gap = float(np.linalg.norm(right - left))
    if not inside or not check.eye_gap[0] * w <= gap <= check.eye_gap[1] * w:
        return False
    along = (right - left) / gap
    down = np.array([-along[1], along[0]])  # across the eye line, towards the mouth on an upright face
    middle = (left + right) / 2
    nose_down = float((nose - middle) @ down) / gap
    mouth_down = float(((points[3] + points[4]) / 2 - middle) @ down) / gap
    mouth_width = float(np.linalg.norm(points[4] - points[3])) / gap
    return (
        nose_down >= check.nose_below_eyes
        and mouth_down - nose_down >= check.mouth_below_nose
        and mouth_down <= check.mouth_below_eyes
        and abs(float((nose - middle) @ along)) / gap <= check.nose_sideways
        and check.mouth_width[0] <= mouth_width <= check.mouth_width[1]
    )


def confirmed(bgr: np.ndarray, detection: Detection, look: Look, check: FaceCheck, always: bool = False) -> bool:
    """Whether a box that scored below ``check.sure`` (or any, with ``always``) is a face on a second look.

    The second look is the box's surroundings turned upright by its eye angle, at each of ``check.sides``; the
    mean score must reach ``check.confirm``. A box the frame's edge cuts keeps its first score.
    """
    if not always and detection.confidence >= check.sure:
        return True
    if at_edge(detection.box, bgr.shape[:2], check.edge):
        return True
    scores = [second_look(bgr, detection, look, check.pad, side) for side in check.sides]
    return statistics.fmean(scores) >= check.confirm


def second_look(bgr: np.ndarray, detection: Detection, look: Look, pad: float, side: int) -> float:
    """The score of the face ``look`` finds at the centre of an upright ``side`` px view of the box; 0 if none."""
    x, y, w, h = detection.box
    span = pad * max(w, h)
    view = upright_view(bgr, (x + w / 2, y + h / 2), eye_angle(detection) or 0.0, span, side)
    reach = side / (2 * pad)  # the found face's centre must lie within half the box's side of the view's centre
    centre = side / 2
    scores = [
        d.confidence
        for d in look(view)
        if abs(d.box[0] + d.box[2] / 2 - centre) < reach and abs(d.box[1] + d.box[3] / 2 - centre) < reach
    ]
    return max(scores, default=0.0)


def upright_view(bgr: np.ndarray, centre: tuple[float, float], angle: float, span: float, side: int) -> np.ndarray:
    """The ``span`` px square around ``centre`` turned by ``angle`` degrees, as a ``side`` px image.

    A large span is area-averaged down before the turn: a bilinear warp straight to ``side`` would alias a big face.
    """
    reach = int(math.ceil(span * 0.75))  # covers the span's square at any angle (half its diagonal is 0.71 span)
    cx, cy = int(round(centre[0])), int(round(centre[1]))
    crop = _padded_crop(bgr, cx - reach, cy - reach, 2 * reach)
    shrink = min(1.0, side / span)
    if shrink < 1:
        crop = cv2.resize(crop, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    scale = side / (span * shrink)
    here = ((centre[0] - cx + reach) * shrink, (centre[1] - cy + reach) * shrink)
    matrix = cv2.getRotationMatrix2D(here, angle, scale)
    matrix[0, 2] += side / 2 - here[0]
    matrix[1, 2] += side / 2 - here[1]
    return cv2.warpAffine(crop, matrix, (side, side), borderMode=cv2.BORDER_REPLICATE)


def at_edge(box: Box, shape: tuple[int, ...], margin: float) -> bool:
    """Whether the box reaches within ``margin`` of its own side of the frame's edge (the frame cuts the face)."""
    x, y, w, h = box
    height, width = shape[:2]
    mx, my = margin * w, margin * h
    return x <= mx or y <= my or x + w >= width - mx or y + h >= height - my


def _padded_crop(image: np.ndarray, x: int, y: int, side: int) -> np.ndarray:
    """``image[y:y+side, x:x+side]``, with the edge pixels repeated where the square leaves the image."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + side), min(height, y + side)
    if x0 >= x1 or y0 >= y1:
        return np.zeros((side, side, *image.shape[2:]), image.dtype)
    crop = image[y0:y1, x0:x1]
    return cv2.copyMakeBorder(crop, y0 - y, y + side - y1, x0 - x, x + side - x1, cv2.BORDER_REPLICATE)
