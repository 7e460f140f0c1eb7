"""Video files: faces and emotions on every Nth frame, a summary per time segment, an optional annotated copy.

Frames are decoded, classified and written one at a time, so memory stays flat however long the clip.
``analyse_video`` is a generator: the CLI streams its results into a CSV, the Video page into a chart,
and either can stop it early (a ``cancel`` hook, or simply closing the generator).
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import cv2
import numpy as np

from emotion_core.errors import InvalidVideoError
from emotion_core.live.tracking import Tracker, TrackerConfig
from emotion_core.records import BOX_COLUMNS, Face

if TYPE_CHECKING:  # importing it loads TensorFlow; probe() answers a bad file without that wait
    from emotion_core.classify.predictor import Predictor

logger = logging.getLogger(__name__)

FALLBACK_FPS = 25.0  # frame times assume this when a container does not state its rate
PROGRESS_EVERY_S = 0.2  # progress callbacks are throttled: a Streamlit progress bar costs a message per call
TRACK_GRACE_S = 1.0  # a face undetected for up to this long (e.g. turned away) keeps its person id

Progress = Callable[[int, int], None]  # (frames done, frames in the file or 0 if unknown)


@dataclass(frozen=True)
class VideoInfo:
    frames: int  # from the container header: an estimate for some formats, 0 when absent
    fps: float
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps


@dataclass(frozen=True)
class FrameResult:
    """The faces found on one sampled frame, largest first, and the person (track id) of each."""

    index: int
    time_s: float
    faces: list[Face]
    people: list[int] = field(default_factory=list)  # track ids, parallel to ``faces``


def probe(path: str | Path) -> VideoInfo:
    """Frame count, rate and size of a readable video; a missing, empty or unreadable file is an InvalidVideoError."""
    capture, info = _open(path)
    capture.release()
    return info


def analyse_video(
    predictor: Predictor,
    path: str | Path,
    every: int = 1,
    annotated: str | Path | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Iterator[FrameResult]:
    """Yield a FrameResult for every ``every``-th frame (0, N, 2N, ...), reading one frame at a time.

    ``annotated`` writes an mp4v copy with boxes and labels on every frame (frames between samples keep
    the last boxes). ``cancel`` (e.g. ``threading.Event().is_set``) is checked before each frame; the
    file handles are released however the loop ends, including when the caller closes the generator.
    """
    from emotion_core.vision.draw import draw_faces

    if every < 1:
        raise ValueError(f"every must be 1 or more, not {every}")
    capture, info = _open(path)
    writer: cv2.VideoWriter | None = None
    ticker = _Ticker(progress, info.frames)
    # Ids only: the CSV keeps each frame's own scores. Grace counted in sampled frames.
    tracker = Tracker(TrackerConfig(smoothing=1.0, max_missed=max(2, round(TRACK_GRACE_S * info.fps / every))))
    faces: list[Face] = []
    done = 0
    try:
        while not (cancelled := bool(cancel and cancel())):
            sampled = done % every == 0
            # grab() skips the colour conversion of frames nobody looks at; the annotated copy needs them all.
            ok, frame = capture.read() if sampled or annotated is not None else (capture.grab(), None)
            if not ok:
                break
            if sampled and frame is not None:
                faces = predictor.predict(frame)
                people = [track.track_id for track in tracker.update(faces)]
                yield FrameResult(done, done / info.fps, faces, people)
            if annotated is not None and frame is not None:
                writer = writer or _writer(annotated, info.fps, frame.shape)
                writer.write(draw_faces(frame, faces))
            done += 1
            ticker.tick(done)
        ticker.tick(done, force=True)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if done == 0 and not cancelled:
        raise InvalidVideoError(f"no frame could be decoded (empty or broken video): {path}")
    if info.frames and done < info.frames and not cancelled:
        logger.warning("%s: decoding stopped at frame %d of %d (truncated file?)", path, done, info.frames)


def iter_frames(
    path: str | Path, every: int = 1, start: int = 0, stop: int | None = None
) -> Iterator[tuple[int, float, np.ndarray]]:
    """(frame index, time in s, BGR frame) for every ``every``-th frame, one frame in memory at a time.

    For callers that classify frames themselves (batch jobs batch them across files); the capture is
    released however the loop ends. ``start`` (a multiple of ``every``) seeks there first, so a resumed job
    decodes from where it stopped rather than from frame 0; ``stop`` ends before that index (a segment).
    A file with no decodable frame is an InvalidVideoError (past ``start`` > 0, the file simply ended).
    """
    if every < 1:
        raise ValueError(f"every must be 1 or more, not {every}")
    capture, info = _open(path)
    done = _seek(capture, start)
    try:
        while stop is None or done < stop:
            ok, frame = capture.read() if done % every == 0 else (capture.grab(), None)
            if not ok:
                break
            if frame is not None:
                yield done, done / info.fps, frame
            done += 1
    finally:
        capture.release()
    if done == 0:
        raise InvalidVideoError(f"no frame could be decoded (empty or broken video): {path}")


def _seek(capture: cv2.VideoCapture, start: int) -> int:
    """Position ``capture`` at frame ``start``: FFmpeg seeks to the keyframe before it and decodes forward (a few
    frames, not the whole prefix). Where the container cannot seek, grab up to it. Returns the frame reached."""
    if start <= 0:
        return 0
    if capture.set(cv2.CAP_PROP_POS_FRAMES, start) and int(capture.get(cv2.CAP_PROP_POS_FRAMES)) == start:
        return start
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    done = 0
    while done < start and capture.grab():
        done += 1
    return done


def _open(path: str | Path) -> tuple[cv2.VideoCapture, VideoInfo]:
    path = Path(path)
    if not path.is_file():
        raise InvalidVideoError(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise InvalidVideoError(f"empty file: {path}")
    # FFmpeg only: OpenCV would otherwise also try reading the name as an image-sequence pattern.
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise InvalidVideoError(f"not a video OpenCV can read (unsupported format or broken file): {path}")
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not 0 < fps < 1000:
        logger.warning("%s states no frame rate; assuming %s frames/s for times", path, FALLBACK_FPS)
        fps = FALLBACK_FPS
    frames = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    return capture, VideoInfo(frames, fps, width, height)


def _writer(path: str | Path, fps: float, shape: tuple[int, ...]) -> cv2.VideoWriter:
    """An mp4v writer sized from the first decoded frame (headers can disagree with the frames)."""
    height, width = shape[:2]
    fourcc = cv2.VideoWriter_fourcc(*"mp4v")  # type: ignore[attr-defined]  # missing from cv2's stubs
    writer = cv2.VideoWriter(str(path), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise InvalidVideoError(f"cannot write an mp4v video to {path}")
    return writer


class _Ticker:
    """Calls ``progress`` at most every PROGRESS_EVERY_S, and always for the last frame."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.last = progress, total, 0.0

    def tick(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress and (force or now - self.last >= PROGRESS_EVERY_S):
            self.progress(done, self.total)
            self.last = now


def frame_rows(result: FrameResult) -> list[dict[str, Any]]:
    """CSV rows for one sampled frame: one per face; a frame without faces keeps one row with blank face columns.

    ``face`` is the face's place on this frame (0 = largest), ``person`` its track id across frames.
    """
    base: dict[str, Any] = {"frame": result.index, "time_s": round(result.time_s, 3)}
    people = list(result.people) + [None] * (len(result.faces) - len(result.people))
    rows = [
        {**base, "face": index, "person": person, **face.to_row()}
        for index, (face, person) in enumerate(zip(result.faces, people, strict=True))
    ]
    return rows or [base]


def csv_writer(file: IO[str], labels: list[str]) -> csv.DictWriter:
    """A DictWriter for ``frame_rows`` with its header already written."""
    writer = csv.DictWriter(file, ["frame", "time_s", "face", "person", *BOX_COLUMNS, "emotion", *labels])
    writer.writeheader()
    return writer


def results_csv(results: Iterable[FrameResult], labels: list[str]) -> str:
    """All rows as CSV text (for a download); the CLI writes the same rows to its file as they come."""
    buffer = io.StringIO()
    writer = csv_writer(buffer, labels)
    for result in results:
        writer.writerows(frame_rows(result))
    return buffer.getvalue()


def timeline_rows(results: Iterable[FrameResult], labels: list[str]) -> list[dict[str, Any]]:
    """Long-form ``{"time_s", "person", "emotion", "probability"}`` rows: each person's scores per sampled frame."""
    rows: list[dict[str, Any]] = []
    for result in results:
        people = result.people or [0] * len(result.faces)
        for face, person in zip(result.faces, people, strict=True):
            rows.extend(
                {"time_s": result.time_s, "person": f"Person {person}", "emotion": e, "probability": face.scores[e]}
                for e in labels
            )
    return rows


class SegmentSummary:
    """The dominant emotion per fixed-length segment, from the mean scores of all faces seen in it.

    Only one running sum per segment is kept, so a long clip streamed through ``add`` costs little memory.
    """

    def __init__(self, labels: list[str], seconds: float = 5.0) -> None:
        if seconds <= 0:
            raise ValueError(f"segment length must be positive, not {seconds}")
        self.labels, self.seconds = list(labels), seconds
        self._sums: dict[int, np.ndarray] = {}
        self._faces: dict[int, int] = {}
        self._frames: dict[int, int] = {}

    def add(self, result: FrameResult) -> None:
        segment = int(result.time_s // self.seconds)
        self._frames[segment] = self._frames.get(segment, 0) + 1
        sums = self._sums.setdefault(segment, np.zeros(len(self.labels)))
        for face in result.faces:
            sums += [face.scores[label] for label in self.labels]
        self._faces[segment] = self._faces.get(segment, 0) + len(result.faces)

    def rows(self) -> list[dict[str, Any]]:
        """One row per segment that had a sampled frame; ``emotion`` is None where no face was seen."""
        rows = []
        for segment in sorted(self._frames):
            faces = self._faces[segment]
            mean = self._sums[segment] / max(faces, 1)
            top = int(np.argmax(mean))
            rows.append(
                {
                    "start_s": round(segment * self.seconds, 3),
                    "end_s": round((segment + 1) * self.seconds, 3),
                    "frames": self._frames[segment],
                    "faces": faces,
                    "emotion": self.labels[top] if faces else None,
                    "score": round(float(mean[top]), 4) if faces else None,
                }
            )
        return rows
