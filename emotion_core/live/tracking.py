"""Per-person tracks: a stable id for each face while it stays in view, and moving-average scores per track.

Light on purpose (numpy only; scipy's Hungarian solver when installed): the webcam worker, the video loop and the
tests use it without TensorFlow. Boxes are matched to the last box of each live track by IoU, with one optimal
assignment per frame so two people who pass close by keep their ids; what IoU leaves unmatched (a fast move,
a face back after a short miss) is matched by centroid distance. A track survives ``max_missed`` frames without
a detection, so a blink of the detector does not hand the person a new id or restart their average.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from emotion_core.records import Box

logger = logging.getLogger(__name__)

try:  # optional: an optimal assignment; greedy matching is as good for the few faces of a webcam
    from scipy.optimize import linear_sum_assignment
except ImportError:  # pragma: no cover - scipy is optional (not in requirements.txt); greedy is the fallback
    linear_sum_assignment = None


class HasBox(Protocol):
    """Anything with a ``box`` (faces.Detection, predict.Face): the tracker needs no more."""

    @property
    def box(self) -> Box: ...


@dataclass(frozen=True)
class TrackerConfig:
    # A box continues a track (its person id and average) when they overlap at least this much (IoU with the
    # track's last box).
    match_iou: float = 0.3
    # Failing that, when its centre lies within this many track-box sides of the track's centre (fast moves,
    # a face back after a miss). 0 turns the fallback off.
    max_centroid_shift: float = 0.6
    # Frames a track may go undetected before it is forgotten; a face back within them gets its id back, so one
    # detector miss neither restarts the smoothing nor makes the same person 'Person 3'.
    max_missed: int = 15
    # Weight of the newest scores in each track's moving average: 1 is no smoothing; lower is steadier but slower
    # to follow a change (0.25 at 30 frames/s settles in about a quarter second).
    smoothing: float = 0.25


@dataclass(frozen=True)
class TrackedFace:
    """One face on this frame: its person id, box and the track's smoothed scores (empty when none were given)."""

    track_id: int
    box: Box
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def emotion(self) -> str | None:
        return max(self.scores, key=self.scores.__getitem__) if self.scores else None

    @property
    def confidence(self) -> float:
        return self.scores[self.emotion] if self.emotion is not None else 0.0


@dataclass
class _Track:
    track_id: int
    box: Box
    scores: dict[str, float]
    missed: int = 0


class Tracker:
    """Assigns track ids to each frame's boxes, in input order. Not thread-safe: one caller (or a lock) per tracker."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        if not 0 < self.config.smoothing <= 1:
            raise ValueError(f"smoothing must be in (0, 1], not {self.config.smoothing}")
        self._tracks: list[_Track] = []
        self._ids = itertools.count(1)

    @property
    def active(self) -> int:
        """Tracks alive now, seen on this frame or within their grace period."""
        return len(self._tracks)

    def reset(self) -> None:
        """Forget every track; ids start again at 1 (a new stream)."""
        self._tracks, self._ids = [], itertools.count(1)

    def update(
        self, faces: Sequence[Box | HasBox], scores: Sequence[Mapping[str, float]] | None = None
    ) -> list[TrackedFace]:
        """One frame's faces (boxes or objects with ``.box``) and their raw scores -> tracked faces, same order."""
        boxes = [_box_of(face) for face in faces]
        if scores is not None and len(scores) != len(boxes):
            raise ValueError(f"{len(scores)} score sets for {len(boxes)} faces")
        matched = dict(match(boxes, [t.box for t in self._tracks], self.config))
        tracks = list(self._tracks)  # positions as matched, before ageing drops or new tracks are added
        self._age(set(matched.values()))
        out: list[TrackedFace] = []
        for index, box in enumerate(boxes):
            raw = dict(scores[index]) if scores is not None else {}
            track = tracks[matched[index]] if index in matched else self._start(box)
            track.box, track.missed = box, 0
            track.scores = _blend(track.scores, raw, self.config.smoothing)
            out.append(TrackedFace(track.track_id, box, dict(track.scores)))
        return out

    def _start(self, box: Box) -> _Track:
        track = _Track(next(self._ids), box, {})
        self._tracks.append(track)
        return track

    def _age(self, matched: set[int]) -> None:
        """Count a miss for each track not matched on this frame; forget those past their grace period."""
        for position, track in enumerate(self._tracks):
            if position not in matched:
                track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.config.max_missed]


def match(boxes: Sequence[Box], previous: Sequence[Box], config: TrackerConfig) -> list[tuple[int, int]]:
    """(box index, previous index) pairs: by IoU first, then by centroid distance for what IoU left unmatched."""
    if not boxes or not previous:
        return []
    overlap = np.array([[iou(b, p) for p in previous] for b in boxes])
    pairs = _assign(overlap, config.match_iou)
    if config.max_centroid_shift > 0:
        left = [i for i in range(len(boxes)) if i not in {b for b, _ in pairs}]
        free = [j for j in range(len(previous)) if j not in {p for _, p in pairs}]
        if left and free:
            # Closeness in [0, 1]: 1 at the same centre, 0 at max_centroid_shift track sides away.
            shift = config.max_centroid_shift
            close = np.array([[_closeness(boxes[i], previous[j], shift) for j in free] for i in left])
            pairs += [(left[a], free[b]) for a, b in _assign(close, 1e-9)]
    return sorted(pairs)


def _assign(similarity: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs maximising total similarity (Hungarian when scipy is there, else greedy), each at least ``threshold``."""
    if linear_sum_assignment is not None:
        rows, cols = linear_sum_assignment(similarity, maximize=True)
        candidates: list[tuple[int, int]] = list(zip(rows.tolist(), cols.tolist(), strict=True))
    else:
        order = np.dstack(np.unravel_index(np.argsort(-similarity, axis=None), similarity.shape))[0]
        candidates, used_rows, used_cols = [], set(), set()
        for row, col in order.tolist():
            if row not in used_rows and col not in used_cols:
                candidates.append((row, col))
                used_rows.add(row)
                used_cols.add(col)
    return [(r, c) for r, c in candidates if similarity[r, c] >= threshold]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0, w) * max(0, h)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def _closeness(box: Box, track: Box, max_shift: float) -> float:
    """1 - centre distance / (max_shift x the track box's mean side), floored at 0."""
    distance = np.hypot(box[0] + box[2] / 2 - track[0] - track[2] / 2, box[1] + box[3] / 2 - track[1] - track[3] / 2)
    reach = max_shift * (track[2] + track[3]) / 2
    return max(0.0, 1.0 - distance / reach) if reach > 0 else 0.0


def _blend(old: dict[str, float], new: dict[str, float], alpha: float) -> dict[str, float]:
    """Exponential moving average per class; the first scores of a track are taken as they are."""
    if not old:
        return dict(new)
    return {label: alpha * p + (1 - alpha) * old.get(label, p) for label, p in new.items()} if new else old


def _box_of(face: Box | HasBox) -> Box:
    box = face if isinstance(face, tuple) else face.box
    return tuple(int(v) for v in box)  # type: ignore[return-value]


def person_label(track_id: int, emotion: str | None, confidence: float) -> str:
    """'Person 2: happy 81 %', the label drawn on the stream and listed beside it."""
    return f"Person {track_id}: {emotion} {confidence * 100:.0f} %" if emotion else f"Person {track_id}"
