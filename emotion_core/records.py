"""Plain result types shared by prediction, drawing, video and the pages; no TensorFlow here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emotion_core.vision.detect import Box, Detection

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
