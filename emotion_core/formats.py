"""Which file names the product reads as images and as videos: one list, read by datasets, batch jobs and pages.

Decoding goes by content, not by name (emotion_core.vision.decode); these suffixes only decide which files of a
folder or zip are worth opening, and what the upload widgets offer.
"""

from __future__ import annotations

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".pgm", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def upload_types(suffixes: tuple[str, ...]) -> list[str]:
    """The suffixes without their dot, as Streamlit's file_uploader(type=...) takes them."""
    return [suffix.removeprefix(".") for suffix in suffixes]
