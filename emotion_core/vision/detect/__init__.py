"""Face detection: every face in a frame, with its box, confidence and (where the backend gives them) eye landmarks.

``FaceDetector`` runs a backend (``backends.BACKENDS``: YuNet by default, Haar as the fallback) on a downscaled
copy, adds a tiled second pass for small faces in big photos, keeps a box only where it agrees with a face
(``checks``: landmark shape, a second look at a doubtful score), and re-reads the eyes of tilted faces.
"""

from emotion_core.vision.detect.config import DetectorConfig
from emotion_core.vision.detect.detector import FaceDetector

__all__ = ["DetectorConfig", "FaceDetector"]
