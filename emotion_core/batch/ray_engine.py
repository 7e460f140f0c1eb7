"""The batch job as a Ray Data pipeline: items -> read+decode+detect (actor pool) -> classify (actor pool, one
Predictor each) -> rows, which the driver writes through the same atomic part files as the local engine (so
resume, the output format and the rows are the same).

Ray is optional (requirements-ray.txt, or ``pip install '.[ray]'``) and imported only here, only when chosen.
It connects to ``$RAY_ADDRESS`` when set (a cluster: the package travels with the job as a py_module; a model
given by path must exist on the workers too), else starts a local Ray with ``workers`` CPUs.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emotion_core.batch.job import BatchSummary, Prepared, Preparer, model_name, unit_rows
from emotion_core.batch.output import PartWriter
from emotion_core.batch.sources import IMAGE_FRAME, Item, Unit, iter_items, iter_units
from emotion_core.errors import RayMissingError

if TYPE_CHECKING:
    import pandas as pd

    from emotion_core.batch.job import BatchConfig, Progress

logger = logging.getLogger(__name__)

INSTALL_HELP = "pip install -r requirements-ray.txt (or pip install '.[ray]')"
UNITS_PER_BATCH = 16  # images per actor call: enough faces for one efficient model call
PACKAGE = Path(__file__).resolve().parent.parent


def check_ray() -> None:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        raise RayMissingError(f"--engine ray needs Ray Data, which is not installed: {INSTALL_HELP}") from None


class ReadDetect:
    """Actor: an item (image, zip member, video) in, one row per unit out, its boxes and crops packed into it
    (so a unit's faces never split across batches, and a part file holds a unit whole)."""

    def __init__(self, model: str | None, every: int, done_frames: dict[str, list[int]]) -> None:
        from emotion_core.classify.predictor import Predictor

        self.preparer = Preparer(_light_predictor(Predictor, model))
        self.every, self.done = every, {(s, f) for s, frames in done_frames.items() for f in frames}

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        item = Item(row["source"], row["kind"], row["path"], row["member"] or None, row["error"] or None)
        return [_pack(self.preparer(unit)) for unit in iter_units([item], self.every, self.done)]


class Classify:
    """Actor holding one warm Predictor: every face of a batch of units in one model call, then the rows."""

    def __init__(self, model: str | None) -> None:
        from emotion_core.classify.predictor import Predictor

        self.predictor, self.model = Predictor.load(model), model_name(model)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        size, labels = self.predictor.input_size, self.predictor.labels
        prepared = [_unpack(row, size) for row in batch.to_dict("records")]
        crops = [p.crops for p in prepared if p.crops is not None]
        scores = self.predictor.classify(np.concatenate(crops)) if crops else np.empty((0, len(labels)))
        records, start = [], 0
        for unit in prepared:
            n = len(unit.boxes)
            records += [row.record(labels) for row in unit_rows(unit, scores[start : start + n], labels, self.model)]
            start += n
        frame = pd.DataFrame.from_records(records)
        # Ray concatenates blocks: keep one dtype per column (ints as floats here; the writer casts them back).
        return frame.astype({c: "float64" for c in ("frame", "face", "x", "y", "w", "h")}).astype(
            {"source": str, "emotion": object, "model": str, "error": object}
        )


def _light_predictor(predictor_class: Any, model: str | None) -> Any:
    """A Predictor's detector and preprocessing settings without loading its network (the detect stage)."""
    from emotion_core.classify.registry import read_card

    return predictor_class(model=None, card=read_card(model), forward=lambda x: x)


def _pack(prepared: Prepared) -> dict[str, Any]:
    unit = prepared.unit
    return {
        **asdict(unit.item) | {"member": unit.item.member or "", "error": prepared.error or ""},
        "frame": IMAGE_FRAME if unit.frame is None else unit.frame,
        "time_s": math.nan if unit.time_s is None else unit.time_s,
        "boxes": ";".join(",".join(map(str, box)) for box in prepared.boxes),
        "crops": b"" if prepared.crops is None else prepared.crops.tobytes(),
    }


def _unpack(row: dict[str, Any], size: int) -> Prepared:
    item = Item(row["source"], row["kind"], row["path"], row["member"] or None, row["error"] or None)
    frame = None if row["frame"] == IMAGE_FRAME else int(row["frame"])
    time_s = None if math.isnan(row["time_s"]) else float(row["time_s"])
    boxes = [tuple(int(v) for v in box.split(",")) for box in row["boxes"].split(";")] if row["boxes"] else []
    crops = np.frombuffer(row["crops"], np.uint8).reshape(-1, size, size, 1) if boxes else None
    return Prepared(Unit(item, frame, time_s), boxes, crops, row["error"] or None)  # type: ignore[arg-type]


def run_ray(config: BatchConfig, done: set[tuple[str, int]], progress: Progress) -> BatchSummary:
    """Run the pipeline to the end, writing rows as batches arrive at the driver."""
    import ray
    import ray.data

    check_ray()
    started_here = _init_ray(ray, config.workers)
    try:
        return _run_pipeline(ray.data, config, done, progress)
    finally:
        if started_here:
            ray.shutdown()


def _init_ray(ray: Any, workers: int) -> bool:
    if ray.is_initialized():
        return False
    quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
    if os.environ.get("RAY_ADDRESS"):
        ray.init(runtime_env={"py_modules": [str(PACKAGE)]}, **quiet)
    else:
        pythonpath = os.pathsep.join(filter(None, [str(PACKAGE.parent), os.environ.get("PYTHONPATH")]))
        env = {"PYTHONPATH": pythonpath, "OPENCV_LOG_LEVEL": "ERROR", "OPENCV_FFMPEG_LOGLEVEL": "-8"}
        ray.init(num_cpus=workers, include_dashboard=False, runtime_env={"env_vars": env}, **quiet)
    return True


def _run_pipeline(data: Any, config: BatchConfig, done: set[tuple[str, int]], progress: Progress) -> BatchSummary:
    items = [asdict(item) for item in iter_items(config.inputs) if _todo(item, done)]
    for item in items:  # Arrow wants one type per column: "" for absent strings
        item["member"], item["error"] = item["member"] or "", item["error"] or ""
    summary = BatchSummary()
    if not items:
        return summary
    done_frames: dict[str, list[int]] = {}
    for source, frame in done:
        if frame != IMAGE_FRAME:
            done_frames.setdefault(source, []).append(frame)
    context = data.DataContext.get_current()
    context.enable_progress_bars = False  # our own bar counts images; Ray's per-operator bars would garble it
    # Half a CPU per actor: both pools (2 x workers actors) fit on ``workers`` CPUs.
    rows = (
        data.from_items(items, override_num_blocks=max(1, min(len(items), config.workers * 8)))
        .flat_map(
            ReadDetect,
            fn_constructor_kwargs={"model": config.model, "every": config.every, "done_frames": done_frames},
            concurrency=config.workers,
            num_cpus=0.5,
        )
        .map_batches(
            Classify,
            fn_constructor_kwargs={"model": config.model},
            batch_size=UNITS_PER_BATCH,
            batch_format="pandas",
            concurrency=config.workers,
            num_cpus=0.5,
        )
    )
    writer: PartWriter | None = None
    for batch in rows.iter_batches(batch_format="pandas", batch_size=None):
        records = _records(batch)
        if writer is None:
            writer = PartWriter(config.out, _labels(batch))
        writer.add_records(records)
        units = len({(r["source"], r["frame"]) for r in records})
        faces = sum(r["face"] is not None for r in records)
        errors = sum(r["error"] is not None for r in records)
        summary.units, summary.faces, summary.errors = (
            summary.units + units,
            summary.faces + faces,
            summary.errors + errors,
        )
        progress.update(units, faces, errors)
    if writer is not None:
        writer.finish()
    return summary


def _todo(item: Item, done: set[tuple[str, int]]) -> bool:
    """Videos always go (their frames are filtered in the pipeline); other items unless already written."""
    return item.kind == "video" or (item.source, IMAGE_FRAME) not in done


def _labels(batch: pd.DataFrame) -> list[str]:
    columns = list(batch.columns)
    return columns[columns.index("emotion") + 1 : columns.index("model")]


def _records(batch: pd.DataFrame) -> list[dict[str, Any]]:
    """Pandas rows back to the writer's records: NaN to None, ints back to ints."""
    records = []
    for row in batch.to_dict("records"):
        clean = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for column in ("frame", "face", "x", "y", "w", "h"):
            value = clean[column]
            clean[column] = None if value is None else int(value)
        records.append(clean)
    return records
