"""The Ray engine's worker: one actor per node running the local engine's pipeline over packets.

Measured per stage on this 2-core machine (benchmarks/RESULTS.md): decoding and detecting a FER2013 image costs about
as much CPU as classifying its face with the shipped model's six test-time views, and a TensorFlow process holds
~1 GB. So each node gets one actor holding one Predictor (one TensorFlow import per node, not per CPU), detecting
with a thread per CPU (OpenCV releases the GIL) and classifying a packet's faces 16 to a model call; two
packets at once, so one is detected while the other is classified. Detection starts as soon as the actor does: the
network loads beside it (a Ray worker's start-up is otherwise the TensorFlow import, with both cores but one idle).
Only packet descriptions go out and rows come back: no image or crop crosses the object store.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from emotion_core.batch.job import Prepared, Preparer, model_name, unit_rows
from emotion_core.batch.output import schema
from emotion_core.batch.packets import Packet
from emotion_core.batch.sources import Unit

DEBUG_COLUMNS = ("node", "detect_s", "classify_s")  # counted by the driver, not written
PACKETS_AT_ONCE = 2  # the actor's concurrency: one packet detecting while another is classified
CLASSIFY_CHUNK = 16  # faces per model call


def node_id() -> str:
    """This process's Ray node id, or the host name outside Ray (tests)."""
    import ray

    return str(ray.get_runtime_context().get_node_id()) if ray.is_initialized() else os.uname().nodename


def output_schema(labels: list[str]) -> pa.Schema:
    debug = [pa.field("node", pa.string()), pa.field("detect_s", pa.float64()), pa.field("classify_s", pa.float64())]
    return pa.schema([*schema(labels), *debug])


class NodeWorker:
    """Actor: packets (JSON) in, their rows out (a unit's rows together), with the node and seconds per stage."""

    def __init__(self, model: str | None, every: int, threads: int) -> None:
        from emotion_core.classify.predictor import Predictor
        from emotion_core.classify.registry import read_card

        card = read_card(model)
        # Detection needs only the card's crop settings, so it starts at once; the network (the TensorFlow import,
        # ~10 s of one core) loads beside it, and the first packets are detected while it does.
        self.preparer = Preparer(Predictor(model=None, card=card, forward=lambda x: x))
        self.pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix="detect")
        # One thread loads the network and then runs every classification, as the local engine's main thread does
        # (calls are serialised by the Predictor anyway; TensorFlow's large buffers stay with one thread).
        self.classifier = ThreadPoolExecutor(1, thread_name_prefix="classify")
        self.loading: Future[Predictor] = self.classifier.submit(Predictor.load, model)
        self.model, self.every, self.labels = model_name(model), every, list(card.labels)
        self.window = max(1, threads) * 8  # units in flight, as in the local engine: bounds decoded frames
        self.schema, self.node = output_schema(self.labels), node_id()

    def run(self, packet: str) -> pa.Table:
        started = time.perf_counter()
        prepared = list(self._prepare(Packet.from_json(packet).iter_units(self.every)))
        detected = time.perf_counter()
        crops = [p.crops for p in prepared if p.crops is not None]
        labels = self.labels
        scores = self._classify(np.concatenate(crops)) if crops else np.empty((0, len(labels)))
        debug = {
            "node": self.node,
            "detect_s": (detected - started) / max(1, len(prepared)),  # wall seconds per unit, video decoding included
            "classify_s": (time.perf_counter() - detected) / max(1, len(prepared)),
        }
        records, start = [], 0
        for unit in prepared:
            n = len(unit.boxes)
            rows = unit_rows(unit, scores[start : start + n], labels, self.model)
            records += [{**row.record(labels), **debug} for row in rows]
            start += n
        return pa.Table.from_pylist(records, schema=self.schema)

    def _classify(self, crops: np.ndarray) -> np.ndarray:
        """Every face of a packet, ``CLASSIFY_CHUNK`` at a time: with six views, 64 faces are 384 network inputs
        and ~0.3 GB of activations; 16 keep the peak near 0.1 GB at the same speed."""
        predictor = self.loading.result()
        chunks = [crops[i : i + CLASSIFY_CHUNK] for i in range(0, len(crops), CLASSIFY_CHUNK)]
        return np.concatenate([self.classifier.submit(predictor.classify, chunk).result() for chunk in chunks])

    def _prepare(self, units: Iterator[Unit]) -> Iterator[Prepared]:
        """Decode and detect on the thread pool, in order, at most ``window`` units in flight."""
        pending: deque[Future[Prepared]] = deque()
        for unit in units:
            pending.append(self.pool.submit(self.preparer, unit))
            if len(pending) >= self.window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
