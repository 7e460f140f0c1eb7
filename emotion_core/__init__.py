"""Facial emotion recognition: decode -> detect -> align -> classify -> track / batch / serve. No Streamlit here.

The front door::

    import cv2
    import emotion_core

    predictor = emotion_core.load()  # the shipped model; or a name from available_models(), or a run folder
    for face in predictor.predict(cv2.imread("photo.jpg")):  # largest face first
        print(face.box, face.emotion, face.scores)

Importing this loads no TensorFlow: it loads with the first model.
"""

from __future__ import annotations

from pathlib import Path

from emotion_core.classify.predictor import Predictor
from emotion_core.classify.registry import list_models
from emotion_core.labels import EMOTIONS
from emotion_core.records import Face

__all__ = ["EMOTIONS", "Face", "Predictor", "available_models", "load"]


def load(model: str | Path | None = None, runtime: str = "keras") -> Predictor:
    """A warm Predictor for a registered model name or run folder (None: the shipped default).

    ``runtime="tflite"`` runs the model's TFLite export. Raises ``ModelNotFoundError`` listing the names it knows.
    """
    return Predictor.load(model, runtime)


def available_models() -> list[str]:
    """The names ``load`` accepts: the shipped default first, then every finished training run."""
    return list(list_models())
