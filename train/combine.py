"""Combining models as a background job: the Models page starts ``python -m train ensemble`` and reads its
progress back, so loading the members and building the ensemble's Keras graph never happen in the app's process.

Each job has a folder ``<runs>/.combining/<name>/`` holding ``job.json`` (pid, members, start time) and
``combine.log`` (the process's output, where a line starting with ``STEP`` marks each step and ``error:`` the CLI's
one-line reason for failing). The ensemble itself is written to ``<runs>/<name>`` and is listed as a model once
both of its files are there. Its state reads as every other background job's (``jobs.background.JobStatus``);
done/total count its steps: each member loaded, the graph built, the folder saved.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from emotion_core.actors import Action, Actor, require
from emotion_core.classify.card import check_ensemble_members
from emotion_core.classify.registry import list_models, read_card
from emotion_core.classify.run_folder import COMBINE_DIR, is_model_folder
from emotion_core.errors import ModelActionError
from emotion_core.jobs.background import JobStatus, start_process
from emotion_core.jobs.processes import exclusive_lock, process_alive
from emotion_core.paths import runs_dir
from train.models import new_model_folder

JOB, LOG = "job.json", "combine.log"
STEP = "step: "  # train.ensemble starts each progress line with it; the rest of the output (TensorFlow's) is not read
EXTRA_STEPS = 2  # after loading each member: building the graph, saving the folder


@dataclass(frozen=True)
class CombineJob:
    job: JobStatus  # its folder is named as the ensemble
    members: tuple[str, ...]
    step: str = ""  # alive: what it is doing now; failed: why, in one line

    @property
    def name(self) -> str:
        return self.job.name


def start_combine(members: list[str], name: str, actor: Actor) -> CombineJob:
    """Check ``members`` and ``name`` here (cheap: cards only), then save their ensemble in the background.

    NotAllowedError unless ``actor`` is an admin (combining is managing models); ModelActionError (one line) for
    fewer than two members, an unknown one, members that disagree on classes or cropping, a name that is invalid or
    taken, or a job already saving that name. The job records ``actor`` as its owner.
    """
    require(actor, Action.MANAGE_MODELS)
    known = list_models()
    unknown = [member for member in members if member not in known]
    if unknown:
        raise ModelActionError(f"no model {', '.join(repr(m) for m in unknown)}; available: {', '.join(known)}")
    check_ensemble_members([read_card(known[member]) for member in members])
    with exclusive_lock(jobs_dir() / ".start.lock"):
        target = new_model_folder(name)
        job_dir = jobs_dir() / name
        if (job_dir / JOB).is_file() and combine_status(name).job.alive:
            raise ModelActionError(f"'{name}' is being combined already; wait for it to finish")
        shutil.rmtree(job_dir, ignore_errors=True)  # an earlier attempt that failed
        job_dir.mkdir(parents=True)
        process = start_process(["-m", "train", "ensemble", *members, "--out", str(target)], job_dir / LOG)
        record = {"pid": process.pid, "members": members, "started": time.time(), "owner": actor.owner}
        (job_dir / JOB).write_text(json.dumps(record))
    return combine_status(name)


def combine_status(name: str) -> CombineJob:
    """What the job saving ensemble ``name`` is doing, from its record, its output and whether its process lives."""
    job_dir = jobs_dir() / name
    try:
        record = json.loads((job_dir / JOB).read_text())
    except (OSError, ValueError):
        raise ModelActionError(f"no combine job for '{name}'") from None
    members, pid = tuple(record.get("members", ())), record.get("pid")
    who = {"owner": str(record.get("owner", "")), "started": record.get("started")}
    total = len(members) + EXTRA_STEPS
    lines = _output_lines(job_dir / LOG)
    if process_alive(pid, b"train"):
        progress = [line.removeprefix(STEP) for line in lines if line.startswith(STEP)]
        status = "running" if progress else "starting"
        step = progress[-1] if progress else "starting"
        return CombineJob(JobStatus(job_dir, status, max(0, len(progress) - 1), total, pid, **who), members, step)
    if is_model_folder(runs_dir() / name):
        return CombineJob(JobStatus(job_dir, "finished", total, total, pid, **who), members)
    errors = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]  # the CLI's one line
    why = errors[-1] if errors else f"it stopped unexpectedly; see {COMBINE_DIR}/{name}/{LOG} in the runs folder"
    return CombineJob(JobStatus(job_dir, "failed", 0, total, pid, **who), members, why)


def jobs_dir() -> Path:
    return runs_dir() / COMBINE_DIR


def _output_lines(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return []
