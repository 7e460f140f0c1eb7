"""The two stages of the Ray engine, as plain code over Arrow tables (testable without a cluster).

``detect``: a task per packet (one CPU; OpenCV only, no TensorFlow, ~200 MB a worker): read, decode, detect and
crop each unit, one Arrow row per unit with its boxes and crops. Tasks, not actors: when a node dies, Ray retries
its tasks on the nodes left, so a job finishes on fewer nodes. The detector is cached per worker process.

``Classify``: an actor holding one Predictor (TensorFlow, ~1 GB): every face of a packet in one model call, then
the output rows of each unit together, plus debug columns (the node that detected it, seconds per stage) that the
driver counts and drops.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from emotion_core.batch.job import Prepared, Preparer, model_name, unit_rows
from emotion_core.batch.output import schema
from emotion_core.batch.packets import Packet
from emotion_core.batch.sources import Item, Unit

if TYPE_CHECKING:
    from emotion_core.classify.card import ModelCard

DEBUG_COLUMNS = ("node", "detect_s", "classify_s")
DETECTED = pa.schema(
    [
        pa.field("source", pa.string()),
        pa.field("frame", pa.int64()),
        pa.field("time_s", pa.float64()),
        pa.field("boxes", pa.list_(pa.int64())),  # x, y, w, h of each face, flattened
        pa.field("crops", pa.binary()),  # the faces' model inputs, uint8 (n, size, size, 1)
        pa.field("error", pa.string()),
        pa.field("node", pa.string()),
        pa.field("detect_s", pa.float64()),
    ]
)
_preparers: dict[str, Preparer] = {}  # per worker process: one detector kept warm across tasks


def node_id() -> str:
    """This process's Ray node, or the host name outside Ray (tests)."""
    try:
        import ray

        return str(ray.get_runtime_context().get_node_id())
    except Exception:
        return os.uname().nodename


def detect(packet: str, card: ModelCard, every: int) -> pa.Table:
    """Task: one packet (JSON) in, one row per unit out."""
    preparer = _preparer(card)
    rows: list[dict[str, Any]] = []
    node, started = node_id(), time.perf_counter()
    for unit in Packet.from_json(packet).iter_units(every):
        rows.append(_pack(preparer(unit), node))
    share = (time.perf_counter() - started) / max(1, len(rows))  # video decoding included
    for row in rows:
        row["detect_s"] = share
    return pa.Table.from_pylist(rows, schema=DETECTED)


def _preparer(card: ModelCard) -> Preparer:
    key = repr(card)
    if key not in _preparers:
        from emotion_core.classify.predictor import Predictor  # the class only: no TensorFlow

        _preparers.clear()
        _preparers[key] = Preparer(Predictor(model=None, card=card, forward=lambda x: x))
    return _preparers[key]


def _pack(prepared: Prepared, node: str) -> dict[str, Any]:
    unit = prepared.unit
    return {
        "source": unit.item.source,
        "frame": unit.frame,
        "time_s": unit.time_s,
        "boxes": [v for box in prepared.boxes for v in box],
        "crops": None if prepared.crops is None else prepared.crops.tobytes(),
        "error": prepared.error,
        "node": node,
    }


def _unpack(row: dict[str, Any], size: int) -> Prepared:
    flat = row["boxes"] or []
    boxes = [tuple(flat[i : i + 4]) for i in range(0, len(flat), 4)]
    crops = np.frombuffer(row["crops"], np.uint8).reshape(-1, size, size, 1) if row["crops"] else None
    unit = Unit(Item(row["source"], "unit", row["source"]), row["frame"], row["time_s"])
    return Prepared(unit, boxes, crops, row["error"])


def output_schema(labels: list[str]) -> pa.Schema:
    debug = [pa.field("node", pa.string()), pa.field("detect_s", pa.float64()), pa.field("classify_s", pa.float64())]
    return pa.schema([*schema(labels), *debug])


class Classify:
    """Actor: one warm Predictor; detected units in, their output rows out."""

    def __init__(self, model: str | None) -> None:
        from emotion_core.classify.predictor import Predictor

        self.predictor, self.model = Predictor.load(model), model_name(model)
        self.schema = output_schema(self.predictor.labels)

    def classify(self, batch: pa.Table) -> pa.Table:
        started = time.perf_counter()
        size, labels = self.predictor.input_size, self.predictor.labels
        units = [(_unpack(row, size), row) for row in batch.to_pylist()]
        crops = [p.crops for p, _ in units if p.crops is not None]
        scores = self.predictor.classify(np.concatenate(crops)) if crops else np.empty((0, len(labels)))
        share = (time.perf_counter() - started) / max(1, len(units))
        records, start = [], 0
        for prepared, row in units:
            n = len(prepared.boxes)
            for i, out in enumerate(unit_rows(prepared, scores[start : start + n], labels, self.model)):
                first = i == 0  # a unit's stage seconds on its first row only, so sums count each unit once
                debug = {"node": row["node"], "detect_s": row["detect_s"] if first else 0.0}
                records.append({**out.record(labels), **debug, "classify_s": share if first else 0.0})
            start += n
        return pa.Table.from_pylist(records, schema=self.schema)
