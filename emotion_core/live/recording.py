"""A recording of a live stream: one row per person per frame, as CSV, and each person's share of time per emotion.

The webcam page adds every record it drains from the LiveProcessor while the stream plays and offers the CSV and
the summary after STOP. Light (no TensorFlow): records are read by attribute, so any LiveResult-shaped object does.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing live loads TensorFlow
    from emotion_core.live.webcam import LiveResult

logger = logging.getLogger(__name__)

# ~1 h at 30 frames/s with 4 people in view; a row is ~150 bytes, so the cap keeps a forgotten tab under ~70 MB.
MAX_ROWS = 432_000


@dataclass(frozen=True)
class RecordedFace:
    time_s: float  # seconds since the recording's first frame
    person: int  # the track id: 'Person 2'
    emotion: str
    scores: tuple[float, ...]  # smoothed probabilities in the recording's label order


@dataclass(frozen=True)
class PersonSummary:
    """How one person looked over the recording: frames seen, seconds between first and last sight, shares."""

    person: int
    frames: int
    seen_s: float
    shares: dict[str, float]  # emotion -> share of this person's frames with it on top (the time share at steady fps)

    def to_row(self) -> dict[str, float | int | str]:
        return {
            "person": f"Person {self.person}",
            "frames": self.frames,
            "seen_s": round(self.seen_s, 1),
            **self.shares,
        }


class Recording:
    """Every face of every frame of one stream, bounded by ``max_rows`` (later rows are counted, not kept)."""

    def __init__(self, labels: list[str], max_rows: int = MAX_ROWS) -> None:
        self.labels = list(labels)
        self.max_rows = max_rows
        self.rows: list[RecordedFace] = []
        self.skipped = 0  # rows past max_rows
        self._start: float | None = None

    def add(self, results: Iterable[LiveResult]) -> None:
        """Append one row per face of each record, times relative to the first record ever added."""
        for result in results:
            if self._start is None:
                self._start = result.timestamp
            for face in result.faces:
                if len(self.rows) >= self.max_rows:
                    if not self.skipped:
                        logger.warning("recording is full at %d rows; later frames are not kept", self.max_rows)
                    self.skipped += 1
                    continue
                scores = tuple(float(face.scores.get(label, 0.0)) for label in self.labels)
                self.rows.append(RecordedFace(result.timestamp - self._start, face.track_id, face.emotion, scores))

    def __len__(self) -> int:
        return len(self.rows)

    def to_csv(self) -> str:
        """``time_s,person,emotion,<label>...``: one line per person per frame, in time order."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["time_s", "person", "emotion", *self.labels])
        for row in self.rows:
            writer.writerow([f"{row.time_s:.3f}", row.person, row.emotion, *(f"{p:.4f}" for p in row.scores)])
        return buffer.getvalue()

    def summary(self) -> list[PersonSummary]:
        """Per person (in id order): each emotion's share of the frames where it was that person's top emotion."""
        by_person: dict[int, list[RecordedFace]] = {}
        for row in self.rows:
            by_person.setdefault(row.person, []).append(row)
        summaries = []
        for person, rows in sorted(by_person.items()):
            counts = {label: 0 for label in self.labels}
            for row in rows:
                counts[row.emotion] = counts.get(row.emotion, 0) + 1
            shares = {label: round(count / len(rows), 4) for label, count in counts.items()}
            summaries.append(PersonSummary(person, len(rows), rows[-1].time_s - rows[0].time_s, shares))
        return summaries
