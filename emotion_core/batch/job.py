"""A batch job: its config, the local engine (threads for decode and detection, classification batched across
images) and the progress it reports (a tqdm bar on stderr, optionally a JSON file the dashboard reads).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotion_core.batch.output import PartWriter, Row, check_out_path, done_keys
from emotion_core.batch.sources import ImageReader, Unit, count_units, iter_items, iter_units
from emotion_core.errors import EmotionCoreError

if TYPE_CHECKING:  # loads TensorFlow
    from emotion_core.classify.predictor import Predictor

logger = logging.getLogger(__name__)

ENGINES = ("local", "ray")
CLASSIFY_BATCH = 64  # faces per model call: near the model's best throughput on CPU, little memory
PROGRESS_EVERY_S = 1.0


@dataclass(frozen=True)
class BatchConfig:
    inputs: tuple[str, ...]
    out: str
    every: int = 1  # every Nth video frame
    model: str | None = None  # name or run folder; None: the shipped default
    engine: str = "local"
    workers: int = field(
        default_factory=lambda: min(4, os.cpu_count() or 1)
    )  # decode+detect threads / a local Ray's CPUs
    progress_file: str | None = None  # JSON progress for the dashboard

    def validate(self) -> None:
        if not self.inputs:
            raise ValueError("give at least one INPUT (folder, zip, glob, image or video)")
        if self.every < 1 or self.workers < 1:
            raise ValueError("--every and --workers must be 1 or more")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine '{self.engine}'; choose {' or '.join(ENGINES)}")
        check_out_path(self.out)


@dataclass
class BatchSummary:
    units: int = 0  # images and video frames processed in this run
    skipped: int = 0  # already in the output from an earlier run
    faces: int = 0
    errors: int = 0
    seconds: float = 0.0
    out: str = ""
    engine: str = "local"
    resumed: dict[str, int] = field(default_factory=dict)  # video -> the frame this run started at (past 0)
    nodes: dict[str, int] = field(default_factory=dict)  # Ray: rows per node id that detected them
    stage_s: dict[str, float] = field(default_factory=dict)  # Ray: worker seconds per stage (detect, classify)
    first_rows_s: float | None = None  # Ray: seconds from the start to the first rows (start-up cost)

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        where = f" on {len(self.nodes)} node(s)" if self.engine == "ray" else ""
        resumed = f", {len(self.resumed)} video(s) resumed midway" if self.resumed else ""
        return (
            f"batch ({self.engine}{where}): {self.units} images/frames, {self.faces} faces, {self.errors} errors, "
            f"{self.skipped} already done{resumed}, in {self.seconds:.1f} s ({self.rate:.1f}/s) -> {self.out}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": round(self.rate, 2)}


class Progress:
    """The tqdm bar (count, rate, ETA on stderr) plus, when asked, a JSON file rewritten about once a second."""

    def __init__(self, total: int, skipped: int, path: str | None, quiet: bool = False, engine: str = "local") -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="img", file=sys.stderr, disable=quiet, dynamic_ncols=True, mininterval=0.5)
        self.total, self.skipped, self.path = total, skipped, Path(path) if path else None
        self.engine, self.nodes = engine, 1 if engine == "local" else 0  # nodes that have returned rows
        self.done = self.faces = self.errors = 0
        self.started, self.last = time.monotonic(), 0.0
        self.write("running")

    def update(self, units: int, faces: int, errors: int, nodes: int | None = None) -> None:
        self.done, self.faces, self.errors = self.done + units, self.faces + faces, self.errors + errors
        self.nodes = self.nodes if nodes is None else nodes
        self.bar.update(units)
        if time.monotonic() - self.last >= PROGRESS_EVERY_S:
            self.write("running")

    def write(self, status: str) -> None:
        self.last = time.monotonic()
        if self.path is None:
            return
        elapsed = self.last - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        state = {
            "status": status,
            "done": self.done,
            "total": self.total,
            "skipped": self.skipped,
            "faces": self.faces,
            "errors": self.errors,
            "rate": round(rate, 2),
            "eta_s": round((self.total - self.done) / rate, 1) if rate else None,
            "engine": self.engine,
            "nodes": self.nodes,
            "pid": os.getpid(),
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, self.path)

    def close(self, status: str) -> None:
        self.bar.close()
        self.write(status)


def run_batch(config: BatchConfig, predictor: Predictor | None = None, quiet: bool = False) -> BatchSummary:
    """Run the job to the end (or resume it): rows in ``config.out``, a summary returned."""
    config.validate()
    done = done_keys(config.out)
    total = count_units(iter_items(config.inputs), config.every)
    progress = Progress(max(0, total - len(done)), len(done), config.progress_file, quiet, config.engine)
    started = time.monotonic()
    status = "failed"
    try:
        if config.engine == "ray":
            from emotion_core.batch.ray_engine import run_ray

            summary = run_ray(config, done, progress)
        else:
            summary = _run_local(config, predictor or _load(config.model), done, progress)
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        progress.close(status)
    summary.skipped, summary.seconds = len(done), time.monotonic() - started
    summary.out, summary.engine = config.out, config.engine
    return summary


def _load(model: str | None) -> Predictor:
    from emotion_core.classify.predictor import Predictor

    return Predictor.load(model)


def model_name(model: str | None) -> str:
    """The name rows carry: the registered name or the run folder's name."""
    return Path(model).name if model else "default"


@dataclass
class Prepared:
    """A unit after decode and detection (in a worker thread): its boxes and model-input crops, or its error."""

    unit: Unit
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    crops: np.ndarray | None = None
    error: str | None = None


class Preparer:
    """Decode and detect, callable from many threads: one detector per thread, so detection runs in parallel
    (a shared detector serialises its calls behind a lock)."""

    def __init__(self, predictor: Predictor) -> None:
        self.predictor, self.reader, self._local = predictor, ImageReader(), threading.local()

    def __call__(self, unit: Unit) -> Prepared:
        from emotion_core.vision.align import faces_to_batch

        if unit.error is not None:
            return Prepared(unit, error=unit.error)
        try:
            image = unit.image if unit.image is not None else self.reader.decode(unit.item)
            boxes = [_box(found) for found in self._detector().detect(image)]
            crops = faces_to_batch(image, boxes, self.predictor.preprocess_config) if boxes else None
            return Prepared(unit, boxes, crops)
        except EmotionCoreError as error:
            return Prepared(unit, error=str(error))
        except Exception as error:  # one odd file must not cost the rest of the job its rows
            return Prepared(unit, error=f"unexpected {type(error).__name__}: {error}")

    def _detector(self) -> Any:
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._local.detector = type(self.predictor.detector)(self.predictor.detector.config)
        return detector


def _box(found: Any) -> tuple[int, int, int, int]:
    """A detector result as (x, y, w, h): a plain box tuple, or a record with ``.box``."""
    box = getattr(found, "box", found)
    return tuple(int(v) for v in box)  # type: ignore[return-value]


def unit_rows(prepared: Prepared, scores: np.ndarray | None, labels: list[str], model: str) -> list[Row]:
    """A unit's rows: one per face, one without a face when none was found, or one error row."""
    unit = prepared.unit
    base = Row(unit.item.source, model, unit.frame, unit.time_s)
    if prepared.error is not None:
        return [replace(base, error=prepared.error)]
    if not prepared.boxes or scores is None:
        return [base]
    return [
        replace(base, face=i, box=box, scores=dict(zip(labels, map(float, p), strict=True)))
        for i, (box, p) in enumerate(zip(prepared.boxes, scores, strict=True))
    ]


def _run_local(
    config: BatchConfig, predictor: Predictor, done: set[tuple[str, int]], progress: Progress
) -> BatchSummary:
    """Units stream through a bounded window of worker futures; finished ones are classified in batches."""
    writer = PartWriter(config.out, predictor.labels)
    summary, model = BatchSummary(), model_name(config.model)
    preparer = Preparer(predictor)
    window = config.workers * 8  # in-flight units: bounds memory whatever the input's size
    with ThreadPoolExecutor(config.workers, thread_name_prefix="batch") as pool:
        pending: deque[Future[Prepared]] = deque()
        ready: list[Prepared] = []
        for unit in iter_units(iter_items(config.inputs), config.every, done, summary.resumed):
            pending.append(pool.submit(preparer, unit))
            while len(pending) >= window or (pending and pending[0].done()):
                ready.append(pending.popleft().result())
                if sum(len(p.boxes) for p in ready) >= CLASSIFY_BATCH:
                    _classify_and_write(ready, predictor, writer, model, summary, progress)
            if len(ready) >= window:
                _classify_and_write(ready, predictor, writer, model, summary, progress)
        ready.extend(future.result() for future in pending)
        _classify_and_write(ready, predictor, writer, model, summary, progress)
    writer.finish()
    return summary


def _classify_and_write(
    ready: list[Prepared],
    predictor: Predictor,
    writer: PartWriter,
    model: str,
    summary: BatchSummary,
    progress: Progress,
) -> None:
    """One model call for every face of the ready units, then their rows to the writer; empties ``ready``."""
    crops = [p.crops for p in ready if p.crops is not None]
    scores = predictor.classify(np.concatenate(crops)) if crops else np.empty((0, len(predictor.labels)))
    start, faces, errors = 0, 0, 0
    for prepared in ready:
        n = len(prepared.boxes)
        writer.add(unit_rows(prepared, scores[start : start + n], predictor.labels, model))
        start, faces, errors = start + n, faces + n, errors + (prepared.error is not None)
    summary.units, summary.faces, summary.errors = (
        summary.units + len(ready),
        summary.faces + faces,
        summary.errors + errors,
    )
    progress.update(len(ready), faces, errors)
    ready.clear()
