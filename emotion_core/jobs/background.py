"""One model for the work the dashboard runs in the background (training runs, batch jobs): how a job's state
reads, and how its process is started and stopped.

A job is a process in its own session, so it outlives Streamlit reruns, browser reloads and a restart of the
app; everything a page shows is read back from files in the job's folder and from whether its pid still lives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from emotion_core.jobs.processes import process_alive

REPO = Path(__file__).resolve().parents[2]  # cwd of the child, so ``-m emotion_core`` / ``-m train`` import this

ALIVE = ("starting", "running")  # the other states: finished, failed, interrupted, cancelled


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
    """``python <argv>`` in its own session (a process group that cancel can reach whole), output into ``log``."""
    with open(log, "ab") as output:
        return subprocess.Popen(
            [sys.executable, *argv],
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
