"""The tiled second pass's geometry: overlapping tiles, and merging what several tiles saw of one face."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from emotion_core.records import Box, Detection


def tiles(image: np.ndarray, side: int, overlap: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """Overlapping ``side`` x ``side`` views (fewer at the edges), with their top-left corners."""
    height, width = image.shape[:2]
    step = max(1, side - overlap)
    for y in _starts(height, side, step):
        for x in _starts(width, side, step):
            yield x, y, image[y : y + side, x : x + side]


def _starts(length: int, side: int, step: int) -> list[int]:
    if length <= side:
        return [0]
    starts = list(range(0, length - side, step))
    return [*starts, length - side]  # the last tile ends at the edge instead of hanging over it


def merge(kept: list[Detection], new: list[Detection], same_face: float) -> list[Detection]:
    """``kept`` plus those of ``new`` that are not a face already kept (by overlap of the smaller box)."""
    merged = list(kept)
    for candidate in sorted(new, key=lambda d: d.confidence, reverse=True):
        clash = [i for i, d in enumerate(merged) if overlap(d.box, candidate.box) > same_face]
        if not clash:
            merged.append(candidate)
        elif all(candidate.confidence > merged[i].confidence and candidate.area > merged[i].area for i in clash):
            # A tile's whole view of a face beats another tile's partial one.
            merged = [d for i, d in enumerate(merged) if i not in clash] + [candidate]
    return merged


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / max(1, min(a[2] * a[3], b[2] * b[3]))
