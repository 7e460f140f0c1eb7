"""The batch job on Ray: work packets -> read+decode+detect (tasks, one CPU each) -> classify (actors, one
Predictor each) -> rows, which the driver writes through the same atomic part files as the local engine as each
packet comes back (so rows reach disk within seconds, a ``kill -9`` loses only the packets in flight, and a rerun
skips everything written: the same resume, output format and rows as the local engine).

Ray Core tasks and actors, not Ray Data: Ray Data adds three helper actors and its imports to every worker (~0.9 GB
of resident memory on one machine, measured) for what is here a bounded window of packets and one stateful stage.

Sized from the cluster when the job starts, not fixed: as many packets detecting at once as it has CPUs (a few
more queued per CPU), one classify actor per ``CPUS_PER_CLASSIFIER`` CPUs (a face costs ~1/20 of detecting it), and
a local Ray's object store sized for that window rather than 30 % of RAM. Ray is optional (requirements-ray.txt, or
``pip install '.[ray]'``) and imported only here, only when chosen. It connects to ``$RAY_ADDRESS`` when set (a
cluster: this package travels with the job as a py_module; a model given by path must exist on the workers), else
starts a local Ray with ``workers`` CPUs.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotion_core.batch.job import BatchSummary
from emotion_core.batch.output import PartWriter
from emotion_core.batch.packets import plan_packets
from emotion_core.batch.ray_stages import DEBUG_COLUMNS, Classify, detect
from emotion_core.batch.sources import iter_items
from emotion_core.errors import RayJobError, RayMissingError, first_line
from emotion_core.settings import PROCESS_DEFAULTS

if TYPE_CHECKING:
    import pyarrow as pa

    from emotion_core.batch.job import BatchConfig, Progress
    from emotion_core.classify.card import ModelCard

logger = logging.getLogger(__name__)

INSTALL_HELP = "pip install -r requirements-ray.txt (or pip install '.[ray]')"
PACKAGE = Path(__file__).resolve().parent.parent
CPUS_PER_CLASSIFIER = 8  # one Predictor keeps up with this many detecting CPUs (benchmarks/RESULTS.md)
PACKETS_PER_CPU = 4  # packets in flight per CPU: detection runs ahead while a Predictor loads, a kill loses ~5 s
PACKET_BYTES = 2**20  # a packet's crops and rows, generously: the object store a local Ray needs per packet
LOCAL_STORE_MIN = 128 * 2**20  # a local Ray's object store: this at least (Ray's default is 30 % of RAM)
DETECT_RETRIES = 3  # a detect task lost with its worker or node is run again elsewhere this many times


def check_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        raise RayMissingError(f"--engine ray needs Ray, which is not installed: {INSTALL_HELP}") from None


@dataclass(frozen=True)
class Sizing:
    """How much of the cluster one job uses, read from its resources when the job starts."""

    cpus: int  # packets detecting at once
    classifiers: int  # classify actors, one Predictor (one TensorFlow) each

    @classmethod
    def of(cls, resources: dict[str, float]) -> Sizing:
        cpus = max(1, int(resources.get("CPU", 1)))
        return cls(cpus, max(1, math.ceil(cpus / CPUS_PER_CLASSIFIER)))

    @property
    def window(self) -> int:
        """Packets in flight (detecting, waiting, classifying): bounds memory and what a kill loses."""
        return self.cpus * PACKETS_PER_CPU + 2 * self.classifiers


def local_store_bytes(cpus: int) -> int:
    """A local Ray's object store: room for the window of packets in flight, twice over."""
    return max(LOCAL_STORE_MIN, 2 * Sizing(cpus, 1).window * PACKET_BYTES)


def run_ray(config: BatchConfig, done: set[tuple[str, int]], progress: Progress) -> BatchSummary:
    """Run the job to the end, writing rows as packets come back to the driver."""
    check_ray()
    import ray

    started_here = _init_ray(ray, config.workers)
    try:
        return _run(ray, config, done, progress)
    except ray.exceptions.RayError as error:
        raise RayJobError(f"the Ray job failed ({first_line(error)}); rerun the same command to resume") from None
    finally:
        if started_here:
            ray.shutdown()


def _init_ray(ray: Any, workers: int) -> bool:
    if ray.is_initialized():
        return False  # the caller's own Ray (a notebook, a test)
    quiet = {"logging_level": logging.WARNING, "log_to_driver": False}
    env = {**PROCESS_DEFAULTS, **{k: os.environ[k] for k in PROCESS_DEFAULTS if k in os.environ}}
    try:
        if os.environ.get("RAY_ADDRESS"):
            ray.init(runtime_env={"py_modules": [str(PACKAGE)], "env_vars": env}, **quiet)
        else:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE.parent), os.environ.get("PYTHONPATH")]))
            store = local_store_bytes(workers)
            runtime = {"env_vars": env}
            ray.init(num_cpus=workers, object_store_memory=store, include_dashboard=False, runtime_env=runtime, **quiet)
    except ConnectionError as error:
        raise RayJobError(f"cannot reach the Ray cluster at $RAY_ADDRESS: {first_line(error)}") from None
    return True


def _run(ray: Any, config: BatchConfig, done: set[tuple[str, int]], progress: Progress) -> BatchSummary:
    from emotion_core.classify.registry import read_card

    card = read_card(config.model)
    summary = BatchSummary(engine="ray")
    packets = (p.to_json() for p in plan_packets(iter_items(config.inputs), config.every, done, summary.resumed))
    writer = PartWriter(config.out, list(card.labels))
    _schedule(
        ray, packets, card, config, Sizing.of(ray.cluster_resources()), lambda t: _write(t, writer, summary, progress)
    )
    writer.finish()
    return summary


def _schedule(
    ray: Any,
    packets: Iterator[str],
    card: ModelCard,
    config: BatchConfig,
    sizing: Sizing,
    deliver: Callable[[pa.Table], None],
) -> None:
    """Keep ``sizing.window`` packets in flight: each detected one goes to the least busy classifier; each classified
    one is delivered (written) as soon as it is back. Packets are planned lazily, so a million images cost nothing
    up front."""
    detect_task = ray.remote(num_cpus=1, max_retries=DETECT_RETRIES)(detect)
    # No CPU of its own: a Predictor uses ~1/20 of what detection does, so a reserved CPU would mostly idle.
    # Restarted (on another node) when its node dies, and its calls retried there.
    classify_actor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(Classify)
    classifiers = [classify_actor.remote(config.model) for _ in range(sizing.classifiers)]
    busy = [0] * len(classifiers)
    card_ref = ray.put(card)
    detecting: list[Any] = []
    classifying: dict[Any, int] = {}  # result -> its classifier
    more = True
    while True:
        while more and len(detecting) + len(classifying) < sizing.window:
            packet = next(packets, None)
            if packet is None:
                more = False
            else:
                detecting.append(detect_task.remote(packet, card_ref, config.every))
        if not detecting and not classifying:
            return
        ready, _ = ray.wait([*detecting, *classifying], num_returns=1, fetch_local=False)
        for ref in ready:
            if ref in classifying:
                busy[classifying.pop(ref)] -= 1
                deliver(ray.get(ref))
            else:
                detecting.remove(ref)
                chosen = busy.index(min(busy))
                busy[chosen] += 1
                classifying[classifiers[chosen].classify.remote(ref)] = chosen


def _write(table: pa.Table, writer: PartWriter, summary: BatchSummary, progress: Progress) -> None:
    """One packet's rows (whole units): counted (per node, per stage), debug columns dropped, written."""
    columns = table.select(["source", "frame", "face", "error", *DEBUG_COLUMNS]).to_pydict()
    units = len(set(zip(columns["source"], columns["frame"], strict=True)))
    faces = sum(face is not None for face in columns["face"])
    errors = sum(error is not None for error in columns["error"])
    for node in columns["node"]:
        summary.nodes[node] = summary.nodes.get(node, 0) + 1
    summary.stage_s["detect"] = summary.stage_s.get("detect", 0.0) + sum(columns["detect_s"])
    summary.stage_s["classify"] = summary.stage_s.get("classify", 0.0) + sum(columns["classify_s"])
    if summary.first_rows_s is None:
        summary.first_rows_s = time.monotonic() - progress.started
    writer.add_table(table.drop_columns(list(DEBUG_COLUMNS)))
    summary.units, summary.faces, summary.errors = summary.units + units, summary.faces + faces, summary.errors + errors
    progress.update(units, faces, errors, nodes=len(summary.nodes))
