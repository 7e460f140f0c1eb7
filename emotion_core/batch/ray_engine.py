"""The batch job on Ray: the driver plans work packets and keeps a few in flight on each node's worker actor (one
per node: a thread per CPU decodes and detects, one Predictor classifies, see ray_stages), and writes each packet's
rows through the same atomic part files as the local engine the moment they come back. So rows reach disk within
seconds, a ``kill -9`` loses only the packets in flight, and a rerun skips everything written: the same resume,
output format and rows as the local engine.

Ray Core actors, not Ray Data: Ray Data adds three helper actors and its imports to every worker (~0.9 GB resident
on one machine, measured), and a stage per process would import TensorFlow per CPU or ship every crop between
processes. Sized from the cluster when the job starts, not fixed: one worker per node with CPUs, reserving them all,
``PACKETS_PER_WORKER`` packets queued on each, and a local Ray's object store sized for that window rather than
30 % of RAM. When a node dies, its worker's packets go to the workers left (the job finishes on fewer nodes); with
none left the job stops with a one-line error and the rerun resumes.

Ray is optional (requirements-ray.txt, or ``pip install '.[ray]'``) and imported only here, only when chosen. It
connects to ``$RAY_ADDRESS`` when set (a cluster: this package travels with the job as a py_module; a model given by
path must exist on the workers), else starts a local Ray with ``workers`` CPUs.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotion_core.batch.job import BatchSummary
from emotion_core.batch.output import PartWriter
from emotion_core.batch.packets import plan_packets
from emotion_core.batch.ray_stages import DEBUG_COLUMNS, PACKETS_AT_ONCE, NodeWorker
from emotion_core.batch.sources import iter_items
from emotion_core.errors import RayJobError, RayMissingError, first_line
from emotion_core.settings import PROCESS_DEFAULTS

if TYPE_CHECKING:
    import pyarrow as pa

    from emotion_core.batch.job import BatchConfig, Progress

logger = logging.getLogger(__name__)

INSTALL_HELP = "pip install -r requirements-ray.txt (or pip install '.[ray]')"
PACKAGE = Path(__file__).resolve().parent.parent
PACKETS_PER_WORKER = PACKETS_AT_ONCE + 1  # two being worked on and one queued: no idle gap, and a kill loses ~3
PACKET_BYTES = 2**20  # a packet's rows, generously: the object store a local Ray needs per packet in flight
LOCAL_STORE_BYTES = 128 * 2**20  # a local Ray's object store (Ray's default is 30 % of RAM); Ray's minimum is 75 MB
WORKER_NICENESS = "RAY_worker_niceness"  # Ray's default is 15: below everything else on the machine
QUIET: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}


def check_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        raise RayMissingError(f"--engine ray needs Ray, which is not installed: {INSTALL_HELP}") from None


@dataclass(frozen=True)
class Node:
    """A node the job runs a worker on: its Ray id and the CPUs the worker reserves (one detect thread each)."""

    node_id: str
    cpus: int


def cluster_nodes(ray: Any) -> list[Node]:
    """The live nodes with at least one CPU, read from the cluster when the job starts."""
    nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1]
    return [Node(n["NodeID"], int(n["Resources"]["CPU"])) for n in nodes]


def local_store_bytes(cpus: int) -> int:
    """A local Ray's object store: room for the packets in flight many times over, not 30 % of RAM."""
    return max(LOCAL_STORE_BYTES, 4 * PACKETS_PER_WORKER * cpus * PACKET_BYTES)


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
    try:
        if os.environ.get("RAY_ADDRESS"):
            ray.init(runtime_env={"py_modules": [str(PACKAGE)], "env_vars": _worker_env()}, **QUIET)
        else:
            start_local(workers)
    except ConnectionError as error:
        raise RayJobError(f"cannot reach the Ray cluster at $RAY_ADDRESS: {first_line(error)}") from None
    return True


def start_local(workers: int) -> None:
    """A local Ray on this machine as a job starts it: ``workers`` CPUs, a small object store, workers that import
    this package and get the process defaults. Public so that a caller (the tests) can start it once for many
    jobs: a job finds Ray initialised and leaves it running."""
    import ray

    env = _worker_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE.parent), os.environ.get("PYTHONPATH")]))
    store = local_store_bytes(workers)
    runtime = {"env_vars": env}
    ray.init(num_cpus=workers, object_store_memory=store, include_dashboard=False, runtime_env=runtime, **QUIET)


def _worker_env() -> dict[str, str]:
    """The process defaults (the user's values kept) and Ray's workers at the driver's priority: Ray lowers its
    workers' priority by 15, which on cores shared with other work starved the job (0.6x the local engine)."""
    env = {**PROCESS_DEFAULTS, **{k: os.environ[k] for k in PROCESS_DEFAULTS if k in os.environ}}
    return {**env, WORKER_NICENESS: os.environ.get(WORKER_NICENESS, "0")}


def _run(ray: Any, config: BatchConfig, done: set[tuple[str, int]], progress: Progress) -> BatchSummary:
    from emotion_core.classify.registry import read_card

    labels = list(read_card(config.model).labels)
    summary = BatchSummary(engine="ray")
    packets = (p.to_json() for p in plan_packets(iter_items(config.inputs), config.every, done, summary.resumed))
    writer = PartWriter(config.out, labels)
    nodes = cluster_nodes(ray)
    if not nodes:
        raise RayJobError("the Ray cluster has no node with a CPU to run on")
    _schedule(ray, packets, nodes, config, lambda table: _write(table, writer, summary, progress))
    writer.finish()
    return summary


def _schedule(
    ray: Any, packets: Iterator[str], nodes: list[Node], config: BatchConfig, deliver: Callable[[pa.Table], None]
) -> None:
    """Keep ``PACKETS_PER_WORKER`` packets on each worker and deliver (write) each result as it lands. A worker that
    dies (its node lost) hands its packets back to be sent to the others. Packets are planned lazily: a million
    images cost nothing up front."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    remote = ray.remote(max_restarts=0, max_concurrency=PACKETS_AT_ONCE)(NodeWorker)
    workers = [
        remote.options(
            num_cpus=node.cpus, scheduling_strategy=NodeAffinitySchedulingStrategy(node.node_id, soft=False)
        ).remote(config.model, config.every, node.cpus)
        for node in nodes
    ]
    in_flight: dict[Any, tuple[Any, str]] = {}  # result -> (worker, packet)
    load = {worker: 0 for worker in workers}
    retry: deque[str] = deque()
    more = True
    while True:
        for worker in [w for w in workers if load[w] < PACKETS_PER_WORKER]:
            while load[worker] < PACKETS_PER_WORKER:
                packet = retry.popleft() if retry else (next(packets, None) if more else None)
                if packet is None:
                    more = False
                    break
                in_flight[worker.run.remote(packet)] = (worker, packet)
                load[worker] += 1
        if not in_flight:
            return
        [ref], _ = ray.wait(list(in_flight), num_returns=1)
        worker, packet = in_flight.pop(ref)
        load[worker] -= 1
        try:
            table = ray.get(ref)
        except ray.exceptions.RayActorError as error:
            _lost(worker, packet, workers, load, in_flight, retry, error)
            continue
        deliver(table)


def _lost(
    worker: Any,
    packet: str,
    workers: list[Any],
    load: dict[Any, int],
    in_flight: dict[Any, tuple[Any, str]],
    retry: deque[str],
    error: Exception,
) -> None:
    """A worker died (its node lost): its packets go back in the queue for the workers left, or the job stops."""
    if worker in workers:
        workers.remove(worker)
        logger.warning("a Ray worker was lost (%s); %d worker(s) left", first_line(error), len(workers))
    retry.append(packet)
    for ref, (other, queued) in list(in_flight.items()):
        if other is worker:
            del in_flight[ref]
            retry.append(queued)
    load.pop(worker, None)
    if not workers:
        raise RayJobError(f"every Ray worker was lost ({first_line(error)}); rerun the same command to resume")


def _write(table: pa.Table, writer: PartWriter, summary: BatchSummary, progress: Progress) -> None:
    """One packet's rows (whole units): counted (per node, per stage), debug columns dropped, written."""
    columns = table.select(["source", "frame", "face", "error", *DEBUG_COLUMNS]).to_pydict()
    units = len(set(zip(columns["source"], columns["frame"], strict=True)))
    faces = sum(face is not None for face in columns["face"])
    errors = sum(error is not None for error in columns["error"])
    if table.num_rows:
        node = columns["node"][0]
        summary.nodes[node] = summary.nodes.get(node, 0) + table.num_rows
        for stage in ("detect", "classify"):  # per-unit seconds, the same on every row of a packet
            summary.stage_s[stage] = summary.stage_s.get(stage, 0.0) + units * columns[f"{stage}_s"][0]
    if summary.first_rows_s is None:
        summary.first_rows_s = time.monotonic() - progress.started
    writer.add_table(table.drop_columns(list(DEBUG_COLUMNS)))
    summary.units, summary.faces, summary.errors = summary.units + units, summary.faces + faces, summary.errors + errors
    progress.update(units, faces, errors, nodes=len(summary.nodes))
