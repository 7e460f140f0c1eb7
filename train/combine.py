"""Combining models as a background job: the Models page starts ``python -m train ensemble`` and reads its
progress back, so loading the members and building the ensemble's Keras graph never happen in the app's process.

Each job has a folder ``<runs>/.combining/<name>/`` holding ``job.json`` (pid, members, start time) and
``combine.log`` (the process's output: one progress line per step, or the error). The ensemble itself is written
to ``<runs>/<name>`` and is listed as a model once both of its files are there. The process lives in its own
session, so it outlives Streamlit reruns and the app.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from emotion_core.classify.card import check_ensemble_members
from emotion_core.classify.registry import list_models, read_card
from emotion_core.classify.run_folder import COMBINE_DIR, is_model_folder
from emotion_core.errors import ModelActionError
from emotion_core.jobs.processes import exclusive_lock, process_alive
from emotion_core.paths import runs_dir
from train.models import new_model_folder

REPO = Path(__file__).resolve().parent.parent  # cwd of the child, so ``-m train`` imports this checkout
JOB, LOG = "job.json", "combine.log"


@dataclass(frozen=True)
class CombineStatus:
    name: str  # the ensemble's model name
    members: tuple[str, ...]
    status: str  # running | finished | failed
    step: str = ""  # running: the job's last progress line; failed: why, in one line
    pid: int | None = None

    @property
    def alive(self) -> bool:
        return self.status == "running"


def start_combine(members: list[str], name: str) -> CombineStatus:
    """Check ``members`` and ``name`` here (cheap: cards only), then save their ensemble in the background.

    ModelActionError (one line) for fewer than two members, an unknown one, members that disagree on classes or
    cropping, a name that is invalid or taken, or a job already saving that name.
    """
    known = list_models()
    unknown = [member for member in members if member not in known]
    if unknown:
        raise ModelActionError(f"no model {', '.join(repr(m) for m in unknown)}; available: {', '.join(known)}")
    check_ensemble_members([read_card(known[member]) for member in members])
    with exclusive_lock(jobs_dir() / ".start.lock"):
        target = new_model_folder(name)
        job_dir = jobs_dir() / name
        if job_dir.exists() and combine_status(name).alive:
            raise ModelActionError(f"'{name}' is being combined already; wait for it to finish")
        shutil.rmtree(job_dir, ignore_errors=True)  # an earlier attempt that failed
        job_dir.mkdir(parents=True)
        with open(job_dir / LOG, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "train", "ensemble", *members, "--out", str(target)],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives reruns and the app
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        record = {"pid": process.pid, "members": members, "started": time.time()}
        (job_dir / JOB).write_text(json.dumps(record))
    return combine_status(name)


def combine_status(name: str) -> CombineStatus:
    """What the job saving ensemble ``name`` is doing, from its record, its output and whether its process lives."""
    job_dir = jobs_dir() / name
    try:
        record = json.loads((job_dir / JOB).read_text())
    except (OSError, ValueError):
        raise ModelActionError(f"no combine job for '{name}'") from None
    members, pid = tuple(record.get("members", ())), record.get("pid")
    lines = _output_lines(job_dir / LOG)
    if process_alive(pid, b"train"):
        progress = [line for line in lines if not line.startswith(("{", "WARNING", "INFO"))]
        return CombineStatus(name, members, "running", progress[-1] if progress else "starting", pid)
    if is_model_folder(runs_dir() / name):
        return CombineStatus(name, members, "finished", pid=pid)
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]  # the CLI's one line
    why = errors[-1] if errors else f"it stopped unexpectedly; see {COMBINE_DIR}/{name}/{LOG} in the runs folder"
    return CombineStatus(name, members, "failed", why, pid)


def jobs_dir() -> Path:
    return runs_dir() / COMBINE_DIR


def _output_lines(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return []
