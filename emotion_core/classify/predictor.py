"""The Predictor: an image or video frame in, faces with boxes and per-class probabilities out."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emotion_core.classify.card import ModelCard
from emotion_core.classify.registry import resolve_model
from emotion_core.classify.views import TestTimeViews
from emotion_core.errors import EmotionCoreError, ModelLoadError, first_line
from emotion_core.records import Box, Detection, Face
from emotion_core.vision.align import PreprocessConfig, faces_to_batch, photo_to_inputs
from emotion_core.vision.detect import FaceDetector

RUNTIMES = ("keras", "tflite")

# Extra work on one answered image (the CLI's Grad-CAM overlays): (image, faces, record) -> None, may raise.
Annotate = Callable[[np.ndarray, list["Face"], dict[str, Any]], None]


@dataclass
class Predictor:
    """One warm model plus a detector; safe to share between Streamlit sessions and the webcam thread."""

    model: Any
    card: ModelCard
    detector: FaceDetector = field(default_factory=FaceDetector)
    # uint8 batch -> probabilities for one view; built from the model unless given (another runtime, a test double).
    forward: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    # Test-time views averaged by classify(); None: those the model's metadata asks for.
    views: TestTimeViews | None = None
    runtime: str = "keras"  # what runs the network: "keras", or "tflite" for an export
    file: str = ""  # the export's file name when runtime is tflite
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.forward is None:
            from emotion_core.classify.network import forward_function  # Keras: loaded with the first model

            self.forward = forward_function(self.model)
        if self.views is None:
            self.views = self.card.views

    @classmethod
    def load(cls, model: str | Path | None = None, runtime: str = "keras") -> Predictor:
        """Load a model by registered name or run-folder path (None: the shipped default).

        ``runtime="tflite"`` (implied by a path ending .tflite) runs the run's TFLite export instead of Keras.
        """
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime '{runtime}'; choose one of {', '.join(RUNTIMES)}")
        if runtime == "tflite" or str(model).endswith(".tflite"):
            from emotion_core.classify.tflite import load_tflite

            lite, card = load_tflite(model)
            predictor = cls(lite, card, forward=lite, runtime="tflite", file=lite.path.name)
        else:
            from emotion_core.classify.network import load_run  # Keras: loaded with the first model

            loaded, card = load_run(resolve_model(model))
            predictor = cls(loaded, card)
        try:  # the warm-up trace is also the check that the network fits what its card says
            predictor.classify(np.zeros((1, predictor.input_size, predictor.input_size, 1), np.uint8))
        except Exception as error:  # Keras, TensorFlow and LiteRT each have their own error types for a misfit
            raise ModelLoadError(f"model '{model}' does not run on its own metadata ({first_line(error)})") from error
        return predictor

    @property
    def labels(self) -> list[str]:
        return list(self.card.labels)

    @property
    def input_size(self) -> int:
        return self.card.input_size

    @property
    def preprocess_config(self) -> PreprocessConfig:
        return self.card.preprocess

    def classify(self, faces: np.ndarray, views: TestTimeViews | None = None) -> np.ndarray:
        """Probabilities (n, classes) for a uint8 batch of model inputs, every view in one model call.

        Keras models are not promised thread-safe, so calls are serialised; a traced graph is
        much faster than ``model.predict`` (or an eager call) for one small batch. ``views``
        overrides the model's own, e.g. fewer for live video.
        """
        if len(faces) == 0:
            return np.empty((0, len(self.labels)), np.float32)
        views, forward = views or self.views, self.forward
        assert views is not None and forward is not None  # __post_init__ fills both
        batch = views.expand(faces)
        with self._lock:
            probabilities = forward(batch)
        return self.card.calibrate(views.average(probabilities, len(faces)))

    def classify_all(self, faces: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """``classify`` over any number of faces, ``batch_size`` at a time: evaluation's path to the model."""
        chunks = [self.classify(faces[i : i + batch_size]) for i in range(0, len(faces), batch_size)]
        return np.concatenate(chunks) if chunks else np.empty((0, len(self.labels)), np.float32)

    def predict_boxes(
        self, image: np.ndarray, faces: Sequence[Detection | Box], views: TestTimeViews | None = None
    ) -> list[Face]:
        """Classify given detections or bare boxes (e.g. tracked from an earlier frame) in one batch.

        Detections with eyes are cropped aligned; bare boxes get the box crop.
        """
        return self._faces(faces, self.classify(faces_to_batch(image, faces, self.preprocess_config), views))

    def predict(self, image: np.ndarray) -> list[Face]:
        """Detect every face in a BGR (or grey) image and classify them all, largest face first."""
        found, batch = photo_to_inputs(image, self.detector, self.preprocess_config)
        return self._faces(found, self.classify(batch))

    def _faces(self, found: Sequence[Detection | Box], probabilities: np.ndarray) -> list[Face]:
        return [
            _face(face, dict(zip(self.labels, map(float, p), strict=True)))
            for face, p in zip(found, probabilities, strict=True)
        ]


def image_record(
    predictor: Predictor, name: str, read: Callable[[], np.ndarray], annotate: Annotate | None = None
) -> dict[str, Any]:
    """DESIGN.md's JSON record for one input: ``{"image", "faces"}``, or ``{"image", "error"}`` with one line.

    Shared by ``python -m emotion_core predict`` (``read`` opens a path) and the HTTP API (``read`` decodes
    uploaded bytes). It never raises for a bad input: one odd file must not cost a batch the other answers.
    """
    try:
        image = read()
        faces = predictor.predict(image)
        record: dict[str, Any] = {"image": name, "faces": [face.to_dict() for face in faces]}
        if annotate is not None:
            annotate(image, faces, record)
    except EmotionCoreError as error:
        return {"image": name, "error": str(error)}
    except Exception as error:  # noqa: BLE001 - reported as this input's answer, never a traceback
        return {"image": name, "error": " ".join(f"unexpected {type(error).__name__}: {error}".split())}
    return record


def _face(found: Detection | Box, scores: dict[str, float]) -> Face:
    if isinstance(found, Detection):
        return Face(found.box, scores, found)
    return Face(found, scores)
