"""Background training runs for the dashboard: launch, watch, cancel and resume ``python -m train fit``.

The run is a separate process in its own session, so it outlives Streamlit reruns, browser reloads and
even a restart of the app; everything the page shows is read back from files in the run folder
(state.json, log.csv, train.log) and from the pointer file ``active.json`` in the runs folder.
One run at a time: the machine's cores are all a run can use. Only an admin trains (``emotion_core.actors``); a
run records its owner in ``owner.json``, and only that owner or an admin cancels, resumes or reads it. A run may ask
for at most ``RunLimits.max_epochs`` epochs, none starts while the runs folder is past its disk cap, and a run past its
time budget (``limits.training_limits``) is stopped when someone else wants to train.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from emotion_core.actors import Action, Actor, require, require_owner
from emotion_core.classify.run_folder import ACTIVE_FILE as ACTIVE
from emotion_core.classify.run_folder import CONFIG_FILE as CONFIG
from emotion_core.classify.run_folder import LOG_FILE as LOG
from emotion_core.classify.run_folder import OUTPUT_FILE as OUTPUT
from emotion_core.classify.run_folder import OWNER_FILE as OWNER
from emotion_core.classify.run_folder import STATE_FILE as STATE
from emotion_core.classify.run_folder import new_run_dir
from emotion_core.data.access import check_data_path
from emotion_core.data.datasets import open_dataset
from emotion_core.errors import EmotionCoreError, LaunchError
from emotion_core.files import folder_bytes, write_json_atomic
from emotion_core.jobs.background import JobStatus, admit, start_process, stop_process
from emotion_core.jobs.processes import exclusive_lock, process_alive
from emotion_core.limits import RunLimits, training_limits
from emotion_core.paths import runs_dir
from emotion_core.storage import OwnerStore
from train.config import TrainConfig, config_to_argv


def resumable(run: JobStatus) -> bool:
    """Stopped after train.fit began (config.json written): its checkpoint, if any, carries on."""
    return run.status in ("interrupted", "failed") and (run.folder / CONFIG).is_file()


def check_config(config: TrainConfig, own: OwnerStore | None = None) -> None:
    """Raise LaunchError unless the config is valid and its dataset (allowed, or the visitor's ``own`` upload) has
    the splits it names."""
    try:
        config.validate()
        check_data_path(config.data, own)  # the page's dataset box: confined like every page's (the CLI is not)
        dataset = open_dataset(config.data)
        splits = (config.person_split.apply(dataset) if config.person_split else dataset).splits
    except (ValueError, EmotionCoreError) as error:
        raise LaunchError(str(error)) from None
    if config.train_split not in splits:
        raise LaunchError(f"{config.data} has no '{config.train_split}' split to train on; it has {', '.join(splits)}")


def launch(
    config: TrainConfig, actor: Actor, own: OwnerStore | None = None, limits: RunLimits | None = None
) -> JobStatus:
    """Check ``config`` and start a new run in the background for ``actor`` (an admin).

    NotAllowedError for a viewer; LimitError past the epoch or disk cap or while another run holds the slot;
    LaunchError for a bad config.
    """
    require(actor, Action.TRAIN)
    limits = limits or RunLimits()
    limits.check_epochs(config.epochs)
    check_config(config, own)
    limits.check_disk(folder_bytes(runs_dir()))
    run_dir = new_run_dir(runs_dir(), config.architecture)
    config = replace(config, data=str(Path(config.data).resolve()), out=str(run_dir))
    return _start(run_dir, ["fit", *config_to_argv(config)], 0, config.epochs, actor)


def resume(run_dir: str | Path, actor: Actor) -> JobStatus:
    """Continue an interrupted run from its last checkpoint, in the background (its owner or an admin)."""
    current = run_status(run_dir)
    require_owner(actor, current.owner, f"run '{current.name}'")
    if not resumable(current):
        raise LaunchError(
            f"{current.name} is {current.status} and cannot be resumed; only an interrupted run that "
            f"reached training (it has {CONFIG}) can"
        )
    owner = current.owner or actor.owner
    return _start(current.folder, ["fit", "--resume", str(current.folder)], current.done, current.total, actor, owner)


def cancel(run_dir: str | Path, actor: Actor, wait_s: float = 10.0) -> JobStatus:
    """Terminate the run's process group (the trainer and any workers); the checkpoint allows a resume.

    Only the run's owner or an admin may: NotAllowedError otherwise.
    """
    current = run_status(run_dir)
    require_owner(actor, current.owner, f"run '{current.name}'")
    return _stop(current, wait_s)


def _stop(current: JobStatus, wait_s: float = 10.0) -> JobStatus:
    if current.alive and current.pid:
        ended = stop_process(current.pid, b"train", wait_s)
        if ended and not (current.folder / STATE).is_file():
            # Cancelled before train.fit wrote its own state: say so, or it would read as 'failed'.
            cancelled = {"status": "cancelled", "epoch": 0, "epochs": current.total, "pid": current.pid}
            write_json_atomic(current.folder / STATE, cancelled)
    return run_status(current.folder)


def active_run() -> JobStatus | None:
    """The run now going, if any: the last launch, or one started from the command line."""
    pointer = _read_json(runs_dir() / ACTIVE)
    if pointer and _trainer_alive(pointer.get("pid")):
        return run_status(pointer["run"])
    return next((run for run in list_runs() if run.alive), None)


def list_runs() -> list[JobStatus]:
    """Every run folder (any with a state or a launch log), newest first."""
    root = runs_dir()
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if p.is_dir() and ((p / STATE).is_file() or (p / OUTPUT).is_file())]
    return [run_status(p) for p in sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)]


def run_status(run_dir: str | Path) -> JobStatus:
    """What a run is doing, from its state.json and whether its process still lives.

    A dead process whose state still says 'running' was killed without the chance to say so: that
    run is 'interrupted', not running forever.
    """
    run_dir = Path(run_dir)
    owned = _read_json(run_dir / OWNER) or {}
    return replace(_progress(run_dir), owner=str(owned.get("owner", "")), started=owned.get("started"))


def _progress(run_dir: Path) -> JobStatus:
    state = _read_json(run_dir / STATE) or {}
    launched = _launch_record(run_dir)
    epoch, epochs = int(state.get("epoch", 0)), int(state.get("epochs", launched.get("epochs", 0)))
    if launched and _trainer_alive(launched.get("pid")):
        pid = launched["pid"]
        status = "running" if state.get("status") == "running" and state.get("pid") == pid else "starting"
        return JobStatus(run_dir, status, epoch, epochs, pid, _eta(launched, epoch, epochs))
    pid, status = state.get("pid"), state.get("status", "failed")
    if status != "running":
        return JobStatus(run_dir, status, epoch, epochs, pid)
    if not _trainer_alive(pid):
        return JobStatus(run_dir, "interrupted", epoch, epochs, pid)
    return JobStatus(run_dir, "running", epoch, epochs, pid, _eta(_cli_start(run_dir), epoch, epochs))


def read_log(run_dir: str | Path, actor: Actor) -> pd.DataFrame:
    """The per-epoch log.csv (epoch counted from 1), or an empty frame before the first epoch ends.

    The run's owner or an admin only (NotAllowedError): others see its progress, not its figures.
    """
    require_owner(actor, run_status(run_dir).owner, f"run '{Path(run_dir).name}'")
    try:
        log = pd.read_csv(Path(run_dir) / LOG)
    except (OSError, pd.errors.EmptyDataError, pd.errors.ParserError):
        return pd.DataFrame(columns=["epoch"])
    return log.assign(epoch=log["epoch"] + 1) if "epoch" in log else pd.DataFrame(columns=["epoch"])


def curves(log: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Long rows (epoch, split, value) of ``metric`` and ``val_<metric>``, for one chart per metric."""
    present = {name: column for name, column in (("train", metric), ("validation", f"val_{metric}")) if column in log}
    frames = [
        pd.DataFrame({"epoch": log["epoch"], "split": name, "value": log[column]}) for name, column in present.items()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["epoch", "split", "value"])


def output_tail(run_dir: str | Path, actor: Actor, lines: int = 20) -> str:
    """The end of the run's console output: where a failed run says why (its owner or an admin only)."""
    require_owner(actor, run_status(run_dir).owner, f"run '{Path(run_dir).name}'")
    try:
        text = (Path(run_dir) / OUTPUT).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _start(
    run_dir: Path, argv: list[str], start_epoch: int, epochs: int, actor: Actor, owner: str | None = None
) -> JobStatus:
    """Start ``python -m train <argv>`` once ``admit`` makes room (one run at a time; an overdue one is stopped)."""
    with exclusive_lock(runs_dir() / ".launch.lock"):
        going = [run for run in list_runs() if run.alive]
        active = active_run()
        if active is not None and all(run.folder != active.folder for run in going):
            going.append(active)
        admit(actor, going, training_limits(), _stop)
        run_dir.mkdir(parents=True, exist_ok=True)
        started = time.time()
        write_json_atomic(run_dir / OWNER, {"owner": owner or actor.owner, "started": started})
        process = start_process(["-m", "train", *argv], run_dir / OUTPUT)
        record = {"run": str(run_dir), "pid": process.pid, "started": started, "start_epoch": start_epoch}
        write_json_atomic(runs_dir() / ACTIVE, {**record, "epochs": epochs})
    return run_status(run_dir)


def _launch_record(run_dir: Path) -> dict:
    pointer = _read_json(runs_dir() / ACTIVE) or {}
    same = pointer.get("run") and Path(pointer["run"]).resolve() == run_dir.resolve()
    return pointer if same else {}


def _cli_start(run_dir: Path) -> dict:
    """For runs started outside the app: train.fit writes config.json just before the first epoch."""
    try:
        return {"started": (run_dir / CONFIG).stat().st_mtime, "start_epoch": 0}
    except OSError:
        return {}


def _eta(launched: dict, epoch: int, epochs: int) -> float | None:
    done = epoch - launched.get("start_epoch", 0)
    if "started" not in launched or done <= 0:
        return None
    return (time.time() - launched["started"]) / done * (epochs - epoch)


def _trainer_alive(pid: object) -> bool:
    return process_alive(pid, b"train")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
