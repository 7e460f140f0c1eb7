"""Emotion class names, their canonical order and the aliases datasets use for them."""

from __future__ import annotations

# FER2013's order; the model's outputs, metadata and evaluation all follow it.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# Folder names seen in public datasets (CK+, RAF-DB, AffectNet, JAFFE, KDEF dumps) mapped onto ours.
ALIASES: dict[str, str] = {
    "anger": "angry",
    "mad": "angry",
    "disgusted": "disgust",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happiness": "happy",
    "joy": "happy",
    "smile": "happy",
    "sadness": "sad",
    "unhappy": "sad",
    "surprised": "surprise",
    "suprise": "surprise",
    "calm": "neutral",
    "normal": "neutral",
}


def canonical_label(name: str) -> str:
    """Map a folder or CSV class name onto our vocabulary; unknown names (e.g. contempt) are kept, lower-cased."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return ALIASES.get(key, key)


def ordered_labels(names: set[str] | list[str]) -> list[str]:
    """Known emotions first in FER2013 order, then any extra classes alphabetically."""
    names = set(names)
    return [e for e in EMOTIONS if e in names] + sorted(names - set(EMOTIONS))
