"""The one preprocessing path shared by training and inference: crop (aligned on the eyes), grey, 48x48.

Every inference path (photo, CLI, video, webcam) goes through ``faces_to_batch``, which crops each face with
``aligned_crop``: rotated so the eyes are level and framed from the eyes the way FER2013 frames its faces, or the
detector's box widened by ``margin`` where the detector gave no eyes (Haar). Training reads FER2013's 48x48 faces,
which are already framed that way, through ``to_model_input`` alone (an identity crop).

Scaling to [0, 1] happens inside the model (a Rescaling layer), so every caller, including a
TFLite export, feeds the same uint8 48x48 array and cannot forget or double the scaling.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import cv2
import numpy as np

from emotion_core.records import Box, Detection
from emotion_core.vision.colour import to_grey
from emotion_core.vision.detect import FaceDetector

INPUT_SIZE = 48


@dataclass(frozen=True)
class PreprocessConfig:
    # FER2013 crops show the face from brow to chin with a little hair and background; a Haar box
    # is slightly tighter, so we widen it by this fraction of its side on every edge.
    margin: float = 0.1
    size: int = INPUT_SIZE
    # Eye framing, measured with the YuNet detector on 2000 FER2013 training faces (upscaled 4x, 1929 found):
    # medians (quartiles) of the eye distance 0.370 (0.326-0.406) of the crop side, of the eye centre's
    # height 0.391 (0.349-0.411) from the top and of its x 0.495 (0.471-0.518); eye-line angle median 0.8°
    # (|angle| 3.9°). BlazeFace gave 0.362 / 0.385 / 0.495. See benchmarks/RESULTS.md.
    align: bool = True  # False: the box crop even where the detector gave eyes
    eye_distance: float = 0.37  # distance between the eyes as a fraction of the crop's side
    eye_y: float = 0.39  # eye centre's height from the top, as a fraction of the side
    eye_x: float = 0.5  # eye centre's x; FER2013's faces are centred (0.495 measured)
    # Eyes closer than this fraction of the box width (a face in profile) frame badly: the box crop is used.
    min_eye_fraction: float = 0.2

    def to_metadata(self) -> dict[str, Any]:
        """The model metadata's ``preprocessing`` section (size is the metadata's ``input_size``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "size"}

    @classmethod
    def from_metadata(cls, section: Mapping[str, Any], size: int = INPUT_SIZE) -> PreprocessConfig:
        """Read a ``preprocessing`` section; missing keys (older models) keep the defaults; unknown ones are ignored."""
        known = {f.name for f in fields(cls)} - {"size"}
        return cls(size=size, **{k: v for k, v in section.items() if k in known})


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


def aligned_crop(image: np.ndarray, face: Detection | Box, config: PreprocessConfig | None = None) -> np.ndarray:
    """Square grey crop of one face at the image's resolution: eyes level and framed as in FER2013.

    Falls back to ``face_crop`` (box plus margin) when the face has no eyes, alignment is off, or the eyes are
    implausibly close for the box (a profile). Edges replicate where the crop leaves the frame.
    """
    config = config or PreprocessConfig()
    detection = face if isinstance(face, Detection) else Detection(face)
    if not (config.align and detection.left_eye and detection.right_eye):
        return face_crop(image, detection.box, config.margin)
    (lx, ly), (rx, ry) = detection.left_eye, detection.right_eye
    distance = math.hypot(rx - lx, ry - ly)
    if distance < max(1.0, config.min_eye_fraction * detection.box[2]):
        return face_crop(image, detection.box, config.margin)
    side = max(1, int(round(distance / config.eye_distance)))
    centre = ((lx + rx) / 2, (ly + ry) / 2)
    # Rotating by the eye line's angle about the eye centre levels the eyes; the shift puts that centre where
    # FER2013 has it.
    matrix = cv2.getRotationMatrix2D(centre, math.degrees(math.atan2(ry - ly, rx - lx)), 1.0)
    matrix[0, 2] += config.eye_x * side - centre[0]
    matrix[1, 2] += config.eye_y * side - centre[1]
    return cv2.warpAffine(to_grey(image), matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def to_model_input(face: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """A face image (any size, grey or BGR) as the model's uint8 ``size`` x ``size`` grey input."""
    grey = to_grey(face)
    if grey.shape != (size, size):
        shrinking = grey.shape[0] > size or grey.shape[1] > size
        grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return np.ascontiguousarray(grey, dtype=np.uint8)


def faces_to_batch(
    image: np.ndarray, faces: Sequence[Detection | Box], config: PreprocessConfig | None = None
) -> np.ndarray:
    """All faces of a frame (detections or bare boxes) as a (n, size, size, 1) uint8 batch, classified in one call."""
    config = config or PreprocessConfig()
    batch = np.empty((len(faces), config.size, config.size, 1), dtype=np.uint8)
    for i, face in enumerate(faces):
        batch[i, :, :, 0] = to_model_input(aligned_crop(image, face, config), config.size)
    return batch


def photo_to_inputs(
    image: np.ndarray, detector: FaceDetector, config: PreprocessConfig | None = None
) -> tuple[list, np.ndarray]:
    """(faces found, largest first; their model inputs as one (n, size, size, 1) batch) for a photo.

    THE path from a photo to model inputs: the Predictor and datasets of photos both call it, so
    training, evaluation and inference see the same detection and crop.
    """
    found = detector.detect(image)
    return found, faces_to_batch(image, found, config)
