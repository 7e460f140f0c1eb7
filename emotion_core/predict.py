"""The Predictor: an image or video frame in, faces with boxes and per-class probabilities out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotion_core.faces import Box, Detection, FaceDetector
from emotion_core.model import forward_function, load_run
from emotion_core.preprocess import PreprocessConfig, faces_to_batch
from emotion_core.registry import resolve_model
from emotion_core.views import TestTimeViews

RUNTIMES = ("keras", "tflite")


@dataclass(frozen=True)
class Face:
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


@dataclass
class Predictor:
    """One warm model plus a detector; safe to share between Streamlit sessions and the webcam thread."""

    model: Any
    metadata: dict[str, Any]
    detector: FaceDetector = field(default_factory=FaceDetector)
    # uint8 batch -> probabilities for one view; built from the model unless given (another runtime, a test double).
    forward: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    # Test-time views averaged by classify(); None: those the model's metadata asks for.
    views: TestTimeViews | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.forward is None:
            self.forward = forward_function(self.model)
        if self.views is None:
            self.views = TestTimeViews.of(self.metadata)

    @classmethod
    def load(cls, model: str | Path | None = None, runtime: str = "keras") -> Predictor:
        """Load a model by registered name or run-folder path (None: the shipped default).

        ``runtime="tflite"`` (implied by a path ending .tflite) runs the run's TFLite export instead of Keras.
        """
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime '{runtime}'; choose one of {', '.join(RUNTIMES)}")
        if runtime == "tflite" or str(model).endswith(".tflite"):
            from emotion_core.tflite import load_tflite

            lite, metadata = load_tflite(model)
            predictor = cls(lite, metadata, forward=lite)
        else:
            loaded, metadata = load_run(resolve_model(model))
            predictor = cls(loaded, metadata)
        predictor.classify(np.zeros((1, predictor.input_size, predictor.input_size, 1), np.uint8))  # warm-up trace
        return predictor

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])

    @property
    def input_size(self) -> int:
        return int(self.metadata.get("input_size", 48))

    @property
    def preprocess_config(self) -> PreprocessConfig:
        """The model's crop settings (margin, eye framing); older metadata without the framing keeps the defaults."""
        return PreprocessConfig.from_metadata(self.metadata.get("preprocessing", {}), self.input_size)

    def classify(self, faces: np.ndarray, views: TestTimeViews | None = None) -> np.ndarray:
        """Probabilities (n, classes) for a uint8 batch of model inputs, every view in one model call.

        Keras models are not promised thread-safe, so calls are serialised; a traced graph is
        much faster than ``model.predict`` (or an eager call) for one small batch. ``views``
        overrides the model's own, e.g. fewer for live video.
        """
        if len(faces) == 0:
            return np.empty((0, len(self.labels)), np.float32)
        views = views or self.views
        batch = views.expand(faces)
        with self._lock:
            probabilities = self.forward(batch)
        return views.average(probabilities, len(faces))

    def predict_boxes(
        self, image: np.ndarray, faces: Sequence[Detection | Box], views: TestTimeViews | None = None
    ) -> list[Face]:
        """Classify given detections or bare boxes (e.g. tracked from an earlier frame) in one batch.

        Detections with eyes are cropped aligned; bare boxes get the box crop.
        """
        probabilities = self.classify(faces_to_batch(image, faces, self.preprocess_config), views)
        return [
            _face(face, dict(zip(self.labels, map(float, p), strict=True)))
            for face, p in zip(faces, probabilities, strict=True)
        ]

    def predict(self, image: np.ndarray) -> list[Face]:
        """Detect every face in a BGR (or grey) image and classify them all, largest face first."""
        return self.predict_boxes(image, self.detector.detect(image))


def _face(found: Detection | Box, scores: dict[str, float]) -> Face:
    if isinstance(found, Detection):
        return Face(found.box, scores, found)
    return Face(found, scores)
