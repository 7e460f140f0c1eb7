"""The FER2013 challenge's CSV: one row per face, ``emotion,pixels[,Usage]``, the pixels a string of grey values."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emotion_core.data.layouts.base import Listing, Read, Sample
from emotion_core.errors import DatasetLayoutError, EmotionCoreError
from emotion_core.labels import EMOTIONS, canonical_label

NAME = "csv"
# fer2013.csv's Usage column; PublicTest is what the zip calls "test".
CSV_SPLITS = {"training": "train", "publictest": "test", "privatetest": "private_test"}


def accepts(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".csv"


@dataclass(frozen=True)
class CsvSource:
    pixels: dict[str, str] = field(repr=False)  # ref (line number) -> pixel string

    @contextmanager
    def reading(self) -> Iterator[Read]:
        yield lambda sample: self.pixels[sample.ref].encode()

    def decode(self, data: bytes, ref: str) -> np.ndarray:
        return _csv_image(data.decode(), ref)


def open(path: Path) -> Listing:  # noqa: A001  (the layout protocol's name)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # Rows with too many fields are skipped with a warning naming their line, not fatal to the file.
            frame = pd.read_csv(path, dtype=str, on_bad_lines="warn", skip_blank_lines=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DatasetLayoutError(f"cannot read {path} as CSV: {str(error).splitlines()[0]}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if not {"emotion", "pixels"} <= set(frame.columns):
        raise DatasetLayoutError(f"{path} lacks the columns emotion,pixels[,Usage] of fer2013.csv")
    skipped = _skipped_lines(caught)
    rejected = [(str(line), f"CSV line {line}: {why}") for line, why in skipped.items()]
    lines = (n for n in range(2, 2 + len(frame) + len(skipped)) if n not in skipped)
    usage = frame["usage"] if "usage" in frame.columns else pd.Series("Training", index=frame.index)
    samples, pixels = [], {}
    for row, emotion, pix, use in zip(lines, frame["emotion"], frame["pixels"], usage, strict=True):
        ref = str(row)  # the line number in the file, so errors point at it
        label = _csv_label(emotion)
        if label is None:
            rejected.append((ref, f"CSV line {row}: emotion {emotion!r} is not 0-{len(EMOTIONS) - 1} nor a class name"))
            continue
        if not isinstance(use, str) or not use.strip():
            rejected.append((ref, f"CSV line {row}: no Usage (Training, PublicTest or PrivateTest)"))
            continue
        split = CSV_SPLITS.get(use.strip().lower(), use.strip().lower())
        samples.append(Sample(split, label, ref))
        pixels[ref] = pix if isinstance(pix, str) else ""
    if not samples:
        raise DatasetLayoutError(f"{path} has no usable rows" + (f" ({rejected[0][1]})" if rejected else ""))
    rejected.sort(key=lambda r: int(r[0]))
    return Listing(samples, CsvSource(pixels), rejected, crops_only=True)


def _skipped_lines(caught: list[warnings.WarningMessage]) -> dict[int, str]:
    """Line -> reason from pandas' 'Skipping line 7: expected 3 fields, saw 4' warnings."""
    text = "\n".join(str(w.message) for w in caught if issubclass(w.category, pd.errors.ParserWarning))
    return {int(m[1]): m[2].strip() for m in re.finditer(r"Skipping line (\d+): ([^\n]*)", text)}


def _csv_label(value: object) -> str | None:
    """A row's class from its emotion code (0-6) or a known class name; None when it is neither."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return EMOTIONS[int(text)] if int(text) < len(EMOTIONS) else None
    label = canonical_label(text)
    return label if label in EMOTIONS else None


def _csv_image(pixels: str, ref: str) -> np.ndarray:
    """A CSV row's pixel string as its square grey image."""
    try:
        values = np.array(pixels.split(), dtype=np.float32) if pixels else np.empty(0, np.float32)
    except ValueError:  # a non-numeric value among the pixels
        values = np.empty(0, np.float32)
    side = int(round(np.sqrt(values.size)))
    if values.size == 0 or side * side != values.size or values.min() < 0 or values.max() > 255:
        raise EmotionCoreError(f"CSV line {ref}: pixels are not a square grey image of 0-255 values")
    return values.reshape(side, side).astype(np.uint8)
