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
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from emotion_core.classify.predictor import Predictor
from emotion_core.live.tracking import Tracker, TrackerConfig, person_label
from emotion_core.records import Box, Detection, Face
from emotion_core.vision.draw import draw_faces


@dataclass(frozen=True)
class LiveConfig:
    # Haar detection costs more than classifying a few faces; between detections the last boxes are
    # reused (a face moves little in 1/10 s at 30 frames/s). 1 detects on every frame.
    detect_every: int = 3
    # Width the frame is shrunk to for detection: a face in front of a webcam spans a fifth of the
    # frame or more, and 320 px halves the detector's time on a 640x480 frame.
    detect_width: int = 320
    # Following each face across frames: its person id and the moving average of its probabilities.
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
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
    track_id: int = 0  # the person: stable while the face stays in view (1, 2, ... per stream)

    @property
    def label(self) -> str:
        """'Person 2: happy 81 %', as drawn on the stream."""
        return person_label(self.track_id, self.emotion, self.confidence)


class StageTimes(NamedTuple):
    detect_ms: float  # 0.0 on frames that reused the previous boxes
    classify_ms: float
    draw_ms: float


class LiveResult(NamedTuple):
    timestamp: float  # time.time() when the frame was done
    fps: float  # frames/s reaching the processor, over the last ``fps_window`` frames
    faces: tuple[LiveFace, ...]  # largest first
    times: StageTimes


class LiveProcessor:
    """BGR frame in, annotated BGR frame out; a ``LiveResult`` per frame goes to ``results``.

    ``process`` runs on streamlit-webrtc's worker thread while the page drains ``results`` on the
    script thread: the tracking state is guarded by a lock, and results cross threads only through
    the (thread-safe) bounded queue, which never blocks the video thread.
    """

    def __init__(self, predictor: Predictor, config: LiveConfig | None = None) -> None:
        self.predictor = predictor
        self.config = config or LiveConfig()
        views = predictor.views
        assert views is not None  # Predictor.__post_init__ fills it
        self.views = views if self.config.zoom_views else replace(views, zooms=(1.0,))
        self.results: queue.Queue[LiveResult] = queue.Queue(maxsize=self.config.queue_size)
        self.dropped = 0  # records discarded because the page read too slowly
        self._lock = threading.Lock()
        self._boxes: list[Detection] = []
        self._tracker = Tracker(self.config.tracker)
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
            faces = self._track(raw)
            draw_faces(frame, [Face(f.box, f.scores) for f in faces], [f.label for f in faces])
            drawn = time.perf_counter()
            times = StageTimes(
                _ms(start, detected) if self._since_detect == 0 else 0.0,
                _ms(detected, classified),
                _ms(classified, drawn),
            )
            self._publish(LiveResult(time.time(), self._tick(), tuple(faces), times))
        return frame

    def reset(self) -> None:
        """Forget the tracked people (a new stream): the next faces are Person 1, 2, ... again."""
        with self._lock:
            self._tracker.reset()
            self._boxes, self._since_detect = [], 0

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

    def _track(self, faces: list[Face]) -> list[LiveFace]:
        """Give each face its person id and blend its probabilities into that person's moving average only."""
        tracked = self._tracker.update(faces, [face.scores for face in faces])
        return [LiveFace(t.box, t.emotion or "", t.confidence, t.scores, t.track_id) for t in tracked]

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
    """Each person's smoothed probabilities over a sliding window, one row per person per poll, for a chart.

    Averaging each poll's records keeps the chart at a few points a second however fast frames come.
    Used on the page's script thread only.
    """

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._rows: deque[tuple[float, int, dict[str, float]]] = deque()

    def add(self, results: Iterable[LiveResult]) -> None:
        """Append, for every person seen in ``results``, their mean scores over those records."""
        seen: dict[int, list[LiveFace]] = {}
        last = 0.0
        for result in results:
            for face in result.faces:
                seen.setdefault(face.track_id, []).append(face)
            last = result.timestamp if result.faces else last
        for person, faces in sorted(seen.items()):
            mean = {e: float(np.mean([f.scores.get(e, 0.0) for f in faces])) for e in faces[-1].scores}
            self._rows.append((last, person, mean))
        while self._rows and self._rows[0][0] < last - self.window_s:
            self._rows.popleft()

    def long_rows(self, now: float | None = None) -> list[dict[str, float | str]]:
        """Rows ``{"seconds": t - now, "person": "Person 1", "emotion", "probability"}`` (long form, for charts)."""
        now = time.time() if now is None else now
        return [
            {"seconds": round(t - now, 2), "person": f"Person {person}", "emotion": e, "probability": p}
            for t, person, scores in self._rows
            if t >= now - self.window_s
            for e, p in scores.items()
        ]


def _ms(start: float, end: float) -> float:
    return (end - start) * 1000.0
