"""Facial emotion recognition: decode, detect, preprocess, classify. No Streamlit in here."""

from emotion_core.labels import EMOTIONS

__all__ = ["EMOTIONS"]
