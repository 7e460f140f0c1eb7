"""Facial emotion recognition: decode, detect, preprocess, classify. No Streamlit in here."""

import emotion_core.load_order  # noqa: F401  (first: pylibsrtp must load before TensorFlow, see the module)
from emotion_core.labels import EMOTIONS

__all__ = ["EMOTIONS"]
