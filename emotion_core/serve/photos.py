"""Per-photo work for the Photo page: decode, detect, classify, draw, and export results as CSV/JSON.

Kept out of the page so it is testable without a Streamlit runtime, and so one bad file becomes an
error record for that file instead of stopping the batch.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pandas as pd

from emotion_core.errors import EmotionCoreError
from emotion_core.records import BOX_COLUMNS, Face
from emotion_core.vision.decode import decode_image
from emotion_core.vision.draw import draw_faces

if TYPE_CHECKING:  # importing it loads TensorFlow: a page that only exports results need not wait for it
    from emotion_core.classify.predictor import Predictor

logger = logging.getLogger(__name__)

# The annotated copy is only for display, and the Photo page caches up to 64 results: a 40-megapixel
# upload (a 40 kB PNG can be one) would hold 120 MB each. Boxes and scores stay in the original's pixels.
DISPLAY_MAX_SIDE = 2048


@dataclass
class PhotoResult:
    """One uploaded photo's answer: faces plus the annotated BGR image, or a one-line error."""

    name: str
    faces: list[Face] = field(default_factory=list)
    annotated: np.ndarray | None = None  # BGR, boxes and labels drawn
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON record: {"image", "faces": [...]} or {"image", "error"}."""
        if self.error is not None:
            return {"image": self.name, "error": self.error}
        return {"image": self.name, "faces": [face.to_dict() for face in self.faces]}


def analyse_photo(predictor: Predictor, name: str, data: bytes) -> PhotoResult:
    """Decode ``data`` by content, find and classify every face, draw them; never raises for a bad file."""
    try:
        image = decode_image(data)
        faces = predictor.predict(image)
    except EmotionCoreError as error:
        return PhotoResult(name, error=str(error))
    except Exception as error:  # one odd file must not cost the other uploads their answers
        logger.exception("unexpected failure on %s", name)
        return PhotoResult(name, error=f"unexpected {type(error).__name__}: {error}")
    return PhotoResult(name, faces, for_display(draw_faces(image, faces)))


def for_display(image: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """``image`` shrunk to at most ``max_side`` pixels on its longer side (unchanged when already smaller)."""
    scale = max_side / max(image.shape[:2])
    return image if scale >= 1 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def face_scores(face: Face) -> pd.DataFrame:
    """One face's probabilities as rows (emotion, probability), in the model's label order."""
    return pd.DataFrame({"emotion": list(face.scores), "probability": [float(v) for v in face.scores.values()]})


def results_json(results: list[PhotoResult]) -> str:
    """All results as a JSON array of the CLI's per-image records."""
    return json.dumps([result.to_dict() for result in results], indent=2)


def results_csv(results: list[PhotoResult]) -> str:
    """One row per face (image, face, box, emotion, a column per class); a no-face or failed image gets one row."""
    rows: list[dict[str, Any]] = []
    for result in results:
        if result.error is not None or not result.faces:
            rows.append({"image": result.name, "error": result.error or "no face found"})
        rows += [{"image": result.name, "face": index, **face.to_row()} for index, face in enumerate(result.faces)]
    frame = pd.DataFrame(
        rows, columns=list(dict.fromkeys(["image", *_INTEGER_COLUMNS, "emotion", *_keys(rows), "error"]))
    )
    # Images without faces leave blanks in these columns; Int64 keeps the others as 3, not 3.0.
    return frame.astype({c: "Int64" for c in _INTEGER_COLUMNS}).to_csv(index=False)


_INTEGER_COLUMNS = ("face", *BOX_COLUMNS)


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))
