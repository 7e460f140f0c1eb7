"""Crowd votes per image (FER+): soft training targets and the plurality label that scoring uses.

FER+ (Barsoum et al., ICMI 2016) gives ten annotators' votes for each FER2013 image over neutral, happiness,
surprise, sadness, anger, disgust, fear, contempt, unknown and NF (not a face). FER2013's single label is
noisy (FER+'s annotators call 48 % of its "sad" faces neutral), so a vote distribution is a cleaner target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emotion_core.errors import DatasetLayoutError
from emotion_core.labels import canonical_label

# Columns that are not emotions: a plurality on one of them means the image has no usable label.
NON_EMOTIONS = ("unknown", "nf")


@dataclass(frozen=True)
class Votes:
    """Vote counts per image, keyed by its member path in the dataset zip (``train/happy/Training_1.jpg``)."""

    columns: tuple[str, ...]  # canonical class names, in the CSV's order (contempt kept, unknown/nf too)
    counts: dict[str, np.ndarray]

    def distribution(self, ref: str, labels: list[str]) -> np.ndarray | None:
        """The share of votes per class in ``labels``; None when no annotator chose one of them."""
        row = self.counts.get(ref)
        if row is None:
            return None
        picked = np.array([row[self.columns.index(c)] if c in self.columns else 0 for c in labels], np.float32)
        total = picked.sum()
        return picked / total if total > 0 else None

    def plurality(self, ref: str) -> str | None:
        """The class most annotators chose; None for a tie, or when it is unknown / not a face."""
        row = self.counts.get(ref)
        if row is None:
            return None
        best = np.flatnonzero(row == row.max())
        if len(best) != 1 or self.columns[best[0]] in NON_EMOTIONS:
            return None
        return self.columns[best[0]]


def read_votes(path: str | Path) -> Votes:
    """Read a FER+ style CSV: a ``member`` column, then one vote-count column per class."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DatasetLayoutError(f"cannot read votes from {path}: {str(error).splitlines()[0]}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "member" not in frame.columns:
        raise DatasetLayoutError(f"{path} has no 'member' column naming each image's path in the dataset")
    vote_columns = [c for c in frame.columns if c not in ("member", "usage")]
    columns = tuple(canonical_label(c) for c in vote_columns)
    try:
        values = frame[vote_columns].to_numpy(dtype=np.float32)
    except ValueError:
        raise DatasetLayoutError(f"{path}: vote columns must hold numbers") from None
    return Votes(columns, dict(zip(frame["member"].astype(str), values, strict=True)))
