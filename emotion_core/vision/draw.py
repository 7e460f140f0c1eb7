"""Drawing boxes and labels on frames: shared by the Photo page, the webcam callback and video export."""

from __future__ import annotations

import cv2
import numpy as np

from emotion_core.records import Face

# BGR colours per emotion, chosen to read well on skin tones and on a grey frame.
COLOURS: dict[str, tuple[int, int, int]] = {
    "angry": (40, 40, 220),
    "disgust": (40, 140, 40),
    "fear": (160, 60, 160),
    "happy": (0, 200, 255),
    "sad": (200, 110, 30),
    "surprise": (0, 140, 255),
    "neutral": (180, 180, 180),
}
CHART_FALLBACK = (128, 128, 128)  # a class without a colour of its own (e.g. contempt from a fine-tuned model)


def chart_colours(labels: list[str]) -> list[str]:
    """Each label's box colour as an RGB hex string (COLOURS are BGR for OpenCV; charts want '#rrggbb')."""
    return [f"#{r:02x}{g:02x}{b:02x}" for b, g, r in (COLOURS.get(label, CHART_FALLBACK) for label in labels)]


def draw_faces(image: np.ndarray, faces: list[Face], labels: list[str] | None = None) -> np.ndarray:
    """Draw each face's box and 'emotion 87%' in place on a BGR image and return it.

    ``labels`` overrides the text per face (the webcam passes smoothed labels).
    """
    thickness = max(1, round(min(image.shape[:2]) / 240))
    for i, face in enumerate(faces):
        x, y, w, h = face.box
        text = labels[i] if labels else f"{face.emotion} {face.confidence:.0%}"
        colour = COLOURS.get(face.emotion, (255, 255, 255))
        cv2.rectangle(image, (x, y), (x + w, y + h), colour, thickness)
        scale = 0.4 * thickness + 0.1
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(0, y - th - base - 4)
        cv2.rectangle(image, (x, top), (x + tw + 4, top + th + base + 4), colour, -1)
        cv2.putText(
            image, text, (x + 2, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness, cv2.LINE_AA
        )
    return image
