"""Live video: annotate a stream of frames with steady emotion labels, and report them as typed records.

The webcam page hands each frame to a ``LiveProcessor`` from streamlit-webrtc's worker thread and
reads the results from a bounded queue on its own script thread. Nothing here knows about Streamlit,
so the whole pipeline is tested with plain arrays.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from emotion_core.draw import draw_faces
from emotion_core.faces import Box, Detection
from emotion_core.predict import Face, Predictor


@dataclass(frozen=True)
class LiveConfig:
    # Haar detection costs more than classifying a few faces; between detections the last boxes are
    # reused (a face moves little in 1/10 s at 30 frames/s). 1 detects on every frame.
    detect_every: int = 3
    # Width the frame is shrunk to for detection: a face in front of a webcam spans a fifth of the
    # frame or more, and 320 px halves the detector's time on a 640x480 frame.
    detect_width: int = 320
    # Weight of the newest frame in the moving average of each face's probabilities: lower is
    # steadier but slower to follow a change (0.25 at 30 frames/s settles in about a quarter second).
    smoothing: float = 0.25
    # A new box continues an old face's average when they overlap at least this much (IoU).
    match_iou: float = 0.3
    # Frames a face may go undetected before its average is forgotten, so one detector miss does
    # not restart the smoothing.
    keep_missing: int = 15
    # Result records waiting for the page; the oldest is dropped when full (~2 s at 30 frames/s).
    queue_size: int = 64
    # Frames over which frames/s is averaged.
    fps_window: int = 30
    # Also classify the zoomed views the model's metadata asks for (photos always do). Off: the
    # webcam averages each face with its mirror image only, at a third of the classification time;
    # the moving average over frames already pools many slightly different looks at the face.
    zoom_views: bool = False


class LiveFace(NamedTuple):
    box: Box
    emotion: str  # the top smoothed class
    confidence: float  # its smoothed probability
    scores: dict[str, float]  # smoothed probabilities, in the model's label order


class StageTimes(NamedTuple):
    detect_ms: float  # 0.0 on frames that reused the previous boxes
    classify_ms: float
    draw_ms: float


class LiveResult(NamedTuple):
    timestamp: float  # time.time() when the frame was done
    fps: float  # frames/s reaching the processor, over the last ``fps_window`` frames
    faces: tuple[LiveFace, ...]  # largest first
    times: StageTimes


@dataclass
class _Track:
    """One face followed across frames: its latest box and its moving-average probabilities."""

    box: Box
    scores: np.ndarray
    missed: int = 0


class LiveProcessor:
    """BGR frame in, annotated BGR frame out; a ``LiveResult`` per frame goes to ``results``.

    ``process`` runs on streamlit-webrtc's worker thread while the page drains ``results`` on the
    script thread: the tracking state is guarded by a lock, and results cross threads only through
    the (thread-safe) bounded queue, which never blocks the video thread.
    """

    def __init__(self, predictor: Predictor, config: LiveConfig | None = None) -> None:
        self.predictor = predictor
        self.config = config or LiveConfig()
        self.views = predictor.views if self.config.zoom_views else replace(predictor.views, zooms=(1.0,))
        self.results: queue.Queue[LiveResult] = queue.Queue(maxsize=self.config.queue_size)
        self.dropped = 0  # records discarded because the page read too slowly
        self._lock = threading.Lock()
        self._boxes: list[Detection] = []
        self._tracks: list[_Track] = []
        self._since_detect = 0
        self._shape: tuple[int, ...] | None = None
        self._frame_times: deque[float] = deque(maxlen=self.config.fps_window)

    def process(self, frame: np.ndarray) -> np.ndarray:
        """Detect (or reuse boxes), classify all faces in one batch, smooth, draw in place; returns ``frame``."""
        with self._lock:
            start = time.perf_counter()
            boxes = self._boxes_for(frame)
            detected = time.perf_counter()
            raw = self.predictor.predict_boxes(frame, boxes, self.views)
            classified = time.perf_counter()
            faces = self._smooth(raw)
            draw_faces(frame, [Face(f.box, f.scores) for f in faces])
            drawn = time.perf_counter()
            times = StageTimes(
                _ms(start, detected) if self._since_detect == 0 else 0.0,
                _ms(detected, classified),
                _ms(classified, drawn),
            )
            self._publish(LiveResult(time.time(), self._tick(), tuple(faces), times))
        return frame

    def drain(self) -> list[LiveResult]:
        """Every record waiting now, oldest first, without blocking (for the page's polling loop)."""
        taken = []
        while True:
            try:
                taken.append(self.results.get_nowait())
            except queue.Empty:
                return taken

    def _boxes_for(self, frame: np.ndarray) -> list[Detection]:
        """Detect every ``detect_every`` frames; sooner when no face is tracked or the frame size changed.

        The webcam's fast settings: a small detection width and no second (small-face) pass.
        """
        stale = self._since_detect + 1 >= self.config.detect_every
        if stale or not self._boxes or frame.shape != self._shape:
            self._boxes = self.predictor.detector.detect(frame, self.config.detect_width, second_pass=False)
            self._shape = frame.shape
            self._since_detect = 0
        else:
            self._since_detect += 1
        return self._boxes

    def _smooth(self, faces: list[Face]) -> list[LiveFace]:
        """Blend each face's probabilities into the track it overlaps most; unmatched faces start tracks.

        Faces come largest first and pick greedily, which is enough for the few faces of a webcam.
        """
        labels = self.predictor.labels
        alpha = self.config.smoothing
        free = list(self._tracks)
        current: list[_Track] = []
        for face in faces:
            probs = np.array([face.scores[label] for label in labels])
            track = _best_match(face.box, free, self.config.match_iou)
            if track is None:
                track = _Track(face.box, probs)
            else:
                free.remove(track)
                track.box, track.scores, track.missed = face.box, alpha * probs + (1 - alpha) * track.scores, 0
            current.append(track)
        for track in free:
            track.missed += 1
        self._tracks = current + [t for t in free if t.missed <= self.config.keep_missing]
        return [_live_face(t, labels) for t in current]

    def _publish(self, result: LiveResult) -> None:
        """Enqueue without blocking; when full, drop the oldest so the page always sees the newest."""
        while True:
            try:
                self.results.put_nowait(result)
                return
            except queue.Full:
                try:
                    self.results.get_nowait()
                    self.dropped += 1
                except queue.Empty:  # the page emptied it meanwhile
                    pass

    def _tick(self) -> float:
        """Record this frame's arrival and return frames/s over the window (0 until two frames)."""
        self._frame_times.append(time.monotonic())
        span = self._frame_times[-1] - self._frame_times[0]
        return (len(self._frame_times) - 1) / span if span > 0 else 0.0


class EmotionHistory:
    """The largest face's smoothed probabilities over a sliding window, one row per poll, for a chart.

    Averaging each poll's records keeps the chart at a few points a second however fast frames come.
    Used on the page's script thread only.
    """

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._rows: deque[tuple[float, dict[str, float]]] = deque()

    def add(self, results: Iterable[LiveResult]) -> None:
        """Append the mean scores of face 1 over ``results`` (skipped when no face was seen)."""
        seen = [r for r in results if r.faces]
        if not seen:
            return
        labels = seen[-1].faces[0].scores
        mean = {e: float(np.mean([r.faces[0].scores.get(e, 0.0) for r in seen])) for e in labels}
        self._rows.append((seen[-1].timestamp, mean))
        while self._rows and self._rows[0][0] < seen[-1].timestamp - self.window_s:
            self._rows.popleft()

    def long_rows(self, now: float | None = None) -> list[dict[str, float | str]]:
        """Rows ``{"seconds": t - now, "emotion", "probability"}`` (long form, as charts want it)."""
        now = time.time() if now is None else now
        return [
            {"seconds": round(t - now, 2), "emotion": e, "probability": p}
            for t, scores in self._rows
            if t >= now - self.window_s
            for e, p in scores.items()
        ]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0, w) * max(0, h)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def _best_match(box: Box, tracks: list[_Track], threshold: float) -> _Track | None:
    best = max(tracks, key=lambda t: iou(box, t.box), default=None)
    return best if best is not None and iou(box, best.box) >= threshold else None


def _live_face(track: _Track, labels: list[str]) -> LiveFace:
    scores = {label: float(p) for label, p in zip(labels, track.scores, strict=True)}
    emotion = max(scores, key=scores.__getitem__)
    return LiveFace(track.box, emotion, scores[emotion], scores)


def _ms(start: float, end: float) -> float:
    return (end - start) * 1000.0
