"""Background batch jobs for the dashboard: start ``python -m emotion_core batch`` as its own process, read its
progress back from files; one job per visitor and a few in all (``limits.batch_limits``).

A job folder (mode 0700) holds ``job.json`` (pid, input, owner, start time), ``progress.json`` (written by the job),
``batch.log`` (its console) and ``results.parquet``. The process lives in its own session, so it outlives Streamlit
reruns. A job belongs to the visitor who started it: only they or an admin read its rows and log or cancel it;
others see that it is busy. An uploaded zip is deleted as soon as its job ends.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

from emotion_core.actors import Action, Actor, require_owner
from emotion_core.data.access import check_data_path
from emotion_core.errors import EmotionCoreError, JobError, hide_paths
from emotion_core.files import write_json_atomic
from emotion_core.jobs.background import REPO, JobStatus, admit, start_process, stop_process
from emotion_core.jobs.processes import exclusive_lock, process_alive
from emotion_core.limits import batch_limits
from emotion_core.storage import OwnerStore

JOB, PROGRESS, LOG, RESULTS = "job.json", "progress.json", "batch.log", "results.parquet"
UPLOAD = "input.zip"  # an uploaded zip is stored under this fixed name, never under the name it came with


def results_path(job: JobStatus, actor: Actor) -> Path:
    """Where a finished job's rows are (one parquet file): for its owner or an admin only."""
    require_owner(actor, job.owner, f"batch job '{job.name}'")
    return job.folder / RESULTS


def where(job: JobStatus) -> str:
    """Which engine ran the job, on how many nodes: what the page shows beside the rate."""
    return f"{job.engine} engine on {job.nodes} node{'s' if job.nodes != 1 else ''}"


def ray_available() -> bool:
    """Whether Ray is installed (the Ray engine is optional), without importing it."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def jobs_dir() -> Path:
    """$EMOTION_BATCH_JOBS, else batch_jobs/ beside the package (the repo root)."""
    return Path(os.environ.get("EMOTION_BATCH_JOBS", REPO / "batch_jobs"))


def start_folder_job(
    folder: str,
    model: str | None = None,
    every: int = 10,
    engine: str = "local",
    *,
    actor: Actor,
    own: OwnerStore | None = None,
) -> JobStatus:
    """Start a job over a folder (or zip) path: the visitor's ``own`` upload, or (admins) an allowed data root."""
    try:
        check_data_path(folder, own, server_paths=actor.may(Action.SERVER_PATHS))
    except EmotionCoreError as error:
        raise JobError(str(error)) from None
    if not Path(folder).exists():
        raise JobError(f"no such folder or zip: {folder}")
    return _start(lambda job_dir: str(Path(folder).resolve()), model, every, engine, actor)


def start_upload_job(
    data: bytes, model: str | None = None, every: int = 10, engine: str = "local", *, actor: Actor
) -> JobStatus:
    """Start a job over an uploaded zip's bytes, stored in the job folder as input.zip (deleted when it ends)."""
    if not data:
        raise JobError("the uploaded file is empty")

    def store(job_dir: Path) -> str:
        (job_dir / UPLOAD).write_bytes(data)
        return str(job_dir / UPLOAD)

    return _start(store, model, every, engine, actor)


def cancel_job(job_dir: str | Path, actor: Actor, wait_s: float = 10.0) -> JobStatus:
    """Stop a job (its owner or an admin: NotAllowedError otherwise); it then reads 'cancelled'."""
    job = job_status(job_dir)
    require_owner(actor, job.owner, f"batch job '{job.name}'")
    return _stop(job, wait_s)


def _stop(job: JobStatus, wait_s: float = 10.0) -> JobStatus:
    if job.alive and job.pid:
        write_json_atomic(job.folder / JOB, {**_read_json(job.folder / JOB), "cancelled": True})
        stop_process(job.pid, b"batch", wait_s)
    return job_status(job.folder)


def _start(prepare_input: object, model: str | None, every: int, engine: str, actor: Actor) -> JobStatus:
    if engine == "ray" and not ray_available():
        from emotion_core.batch.ray_engine import INSTALL_HELP

        raise JobError(f"the Ray engine needs Ray, which is not installed: {INSTALL_HELP}")
    with exclusive_lock(jobs_dir() / ".start.lock"):
        admit(actor, [job for job in list_jobs() if job.alive], batch_limits(), _stop)
        job_dir = _new_job_dir()
        source = prepare_input(job_dir)  # type: ignore[operator]
        command = [sys.executable, "-m", "emotion_core", "batch", source, "--out", str(job_dir / RESULTS)]
        command += ["--every", str(every), "--engine", engine, "--progress-file", str(job_dir / PROGRESS)]
        command += ["--model", model] if model and model != "default" else []
        process = start_process(command[1:], job_dir / LOG)
        record = {"pid": process.pid, "input": source, "model": model, "every": every, "engine": engine}
        record["started"] = time.time()
        write_json_atomic(job_dir / JOB, {**record, "owner": actor.owner})
    return job_status(job_dir)


def job_status(job_dir: str | Path) -> JobStatus:
    """What a job is doing, from its progress file and whether its process lives."""
    job_dir = Path(job_dir)
    job, progress = _read_json(job_dir / JOB), _read_json(job_dir / PROGRESS)
    pid = job.get("pid")
    alive = process_alive(pid, b"batch")
    status = progress.get("status", "starting" if alive else "failed")
    if status == "running" and not alive:
        status = "interrupted"
    if status == "finished" and not (job_dir / RESULTS).is_file():
        status = "starting" if alive else "failed"  # progress closed, output not merged yet (or lost)
    if job.get("cancelled") and not alive and status != "finished":
        status = "cancelled"
    if not alive:
        (job_dir / UPLOAD).unlink(missing_ok=True)  # the visitor's photos are kept no longer than their job
    fields = {k: progress[k] for k in ("done", "total", "faces", "errors", "rate", "eta_s", "nodes") if k in progress}
    engine = progress.get("engine") or job.get("engine") or "local"
    owner = str(job.get("owner", ""))
    return JobStatus(job_dir, status, pid=pid, engine=engine, owner=owner, started=job.get("started"), **fields)


def list_jobs() -> list[JobStatus]:
    """Every job, newest first."""
    root = jobs_dir()
    if not root.is_dir():
        return []
    folders = sorted((p for p in root.iterdir() if (p / JOB).is_file()), key=lambda p: p.name, reverse=True)
    return [job_status(p) for p in folders]


def results(job: JobStatus, actor: Actor) -> pd.DataFrame:
    """The job's rows for its owner or an admin (NotAllowedError otherwise), as a page may show them: each source
    named within the job's input (``photos/a.jpg``, a zip's member name), never by its server path."""
    rows = pd.read_parquet(results_path(job, actor))
    given = str(_read_json(job.folder / JOB).get("input", ""))
    if "source" in rows:
        rows["source"] = rows["source"].map(lambda source: _within(str(source), given))
    if "error" in rows:
        rows["error"] = rows["error"].map(lambda error: hide_paths(error) if isinstance(error, str) else error)
    return rows


def _within(source: str, given: str) -> str:
    """``source`` relative to the job's input (a folder, or a zip whose members read ``<zip>::<member>``)."""
    if given and source.startswith(given):
        return source[len(given) :].lstrip("/").removeprefix("::") or Path(source).name
    return hide_paths(source)


def class_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Faces per emotion (rows without a face or with an error left out), for the distribution chart."""
    faces = rows.dropna(subset=["emotion"])
    counts = faces["emotion"].value_counts().rename_axis("emotion").reset_index(name="faces")
    return counts.sort_values("faces", ascending=False, ignore_index=True)


def log_tail(job: JobStatus, actor: Actor, lines: int = 15) -> str:
    """The end of the job's console (progress-bar redraws split into lines): where a failed job says why.

    For its owner or an admin only: the log names the job's input files.
    """
    require_owner(actor, job.owner, f"batch job '{job.name}'")
    try:
        text = (job.folder / LOG).read_text(errors="replace").replace("\r", "\n")
    except OSError:
        return ""
    return "\n".join([line for line in text.splitlines() if line.strip()][-lines:])


def _new_job_dir() -> Path:
    stem = f"job-{time.strftime('%Y%m%d-%H%M%S')}"
    job_dir, n = jobs_dir() / stem, 1
    while job_dir.exists():
        n += 1
        job_dir = jobs_dir() / f"{stem}-{n}"
    job_dir.parent.mkdir(parents=True, exist_ok=True)
    job_dir.mkdir(mode=0o700)  # its input and rows are the visitor's: no other local user reads them
    return job_dir


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
