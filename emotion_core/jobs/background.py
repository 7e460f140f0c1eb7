"""One model for the work the dashboard runs in the background (training runs, batch jobs): how a job's state
reads, and how its process is started and stopped.

A job is a process in its own session, so it outlives Streamlit reruns, browser reloads and a restart of the
app; everything a page shows is read back from files in the job's folder and from whether its pid still lives.
Jobs run at a lower priority (``NICENESS``) so the pages stay responsive while they use every core, and each
records its owner (``emotion_core.actors``): only the owner or an admin acts on it.

A job outlives the dashboard that started it (a restart does not throw away hours of training); the Train and Batch
pages list it again at the next start, from its folder, and whoever owns it may cancel it there.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from emotion_core.actors import Actor
from emotion_core.errors import LimitError
from emotion_core.jobs.processes import process_alive
from emotion_core.limits import JobLimits

REPO = Path(__file__).resolve().parents[2]  # cwd of the child, so ``-m emotion_core`` / ``-m train`` import this

ALIVE = ("starting", "running")  # the other states: finished, failed, interrupted, cancelled
NICENESS = 10  # added to the job's priority: pages (and the API) keep the CPU when they need it


@dataclass(frozen=True)
class JobStatus:
    """What one background job is doing, read from its folder: a training run or a batch job alike."""

    folder: Path
    status: str  # starting | running | finished | failed | interrupted | cancelled
    done: int = 0  # epochs finished (training) or inputs answered (batch)
    total: int = 0  # epochs or inputs in all
    pid: int | None = None
    eta_s: float | None = None  # seconds left, from the pace so far
    rate: float = 0.0  # inputs per second (batch)
    faces: int = 0  # faces found so far (batch)
    errors: int = 0  # inputs that could not be answered (batch)
    engine: str = "local"  # what runs it: local threads or Ray (batch)
    nodes: int = 1  # machines that have returned rows so far (batch on Ray)
    owner: str = ""  # who started it (emotion_core.actors); '' for work started from a shell
    started: float | None = None  # time.time() at its start, for the time budget

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def alive(self) -> bool:
        return self.status in ALIVE

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


def start_process(argv: list[str], log: Path) -> subprocess.Popen:
    """``python <argv>`` in its own session (a process group that cancel can reach whole), output into ``log``.

    Started through ``nice`` (not ``preexec_fn``, which may deadlock a child forked from a threaded server).
    """
    nice = shutil.which("nice")
    prefix = [nice, "-n", str(NICENESS)] if nice else []
    with open(log, "ab") as output:
        return subprocess.Popen(
            [*prefix, sys.executable, *argv],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives reruns and the app; its own group
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def stop_process(pid: int, marker: bytes, wait_s: float = 10.0) -> bool:
    """SIGTERM the job's process group (the job and any workers it started); True once it has ended.

    A job started from a shell shares that shell's group: then only the job's own process is signalled.
    """
    try:
        if _leads_group(pid):
            os.killpg(pid, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + wait_s
    while process_alive(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not process_alive(pid, marker)


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def admit(actor: Actor, alive: list[JobStatus], limits: JobLimits, stop: Callable[[JobStatus], object]) -> None:
    """Make room for ``actor``'s new job under ``limits``, or LimitError saying which cap holds.

    A job of another visitor past its time budget is stopped (``stop``) when the slots are full: one visitor
    cannot hold the server forever. The actor's own jobs count against their per-visitor cap.
    """
    mine = [job for job in alive if job.owner == actor.owner]
    if len(mine) >= limits.per_owner:
        raise LimitError(f"your job '{mine[0].name}' is {mine[0].status}; one at a time per visitor: cancel it or wait")
    if len(alive) < limits.total:
        return
    now = time.time()
    for job in alive:
        if job.started is not None and now - job.started > limits.budget_s:
            stop(job)
    going = [job for job in alive if job.started is None or now - job.started <= limits.budget_s]
    if len(going) >= limits.total:
        more = f" (and {len(going) - 1} more)" if len(going) > 1 else ""
        raise LimitError(
            f"'{going[0].name}' is {going[0].status}{more}; {limits.total} at once at most, and each may run "
            f"{limits.budget_text()} before another visitor may take its place: try again later"
        )
