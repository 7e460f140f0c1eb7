"""A run folder's progress while training: its state file, its per-epoch log and checkpoint."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from emotion_core.classify.run_folder import CHECKPOINT_FILE as CHECKPOINT
from emotion_core.classify.run_folder import STATE_FILE as STATE
from emotion_core.files import replace_atomically, write_json_atomic

logger = logging.getLogger(__name__)

# Dropout's seed-generator state after epoch k, written before that epoch's checkpoint: random_state-<k>.npz.
RANDOM_STATE = "random_state-{epoch}.npz"


def trim_log(path: Path, epochs: int) -> None:
    """Keep log.csv's header and its complete rows for epochs 0..epochs-1, dropping the rest.

    A run killed (SIGKILL, power loss) after CSVLogger wrote epoch k's row but before epoch k's
    checkpoint landed resumes at epoch k again; without this its row would appear twice, and a
    row cut mid-write would merge with the next one.
    """
    try:
        lines = path.read_text().split("\n")
    except OSError:
        return
    header = lines[:1] if len(lines) > 1 else []  # no newline at all: even the header was cut short
    rows: dict[int, str] = {}  # epoch -> its last complete row (a re-run epoch's row replaces the first)
    for line in lines[1:-1]:  # the last piece has no newline after it: empty, or a row cut short
        first = line.split(",", 1)[0]
        if first.isdigit() and int(first) < epochs:
            rows[int(first)] = line
    text = "".join(line + "\n" for line in header + [rows[e] for e in sorted(rows)])
    replace_atomically(path, lambda tmp: tmp.write_text(text))


def write_state(run_dir: Path, status: str, epoch: int, epochs: int) -> None:
    write_json_atomic(run_dir / STATE, {"status": status, "epoch": epoch, "epochs": epochs, "pid": os.getpid()})


def last_epoch(run_dir: Path) -> int:
    try:
        return json.loads((run_dir / STATE).read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def finished_epochs(model: Any, run_dir: Path, steps_per_epoch: int) -> int:
    """Epochs the checkpoint holds, read from its optimizer's step count (saved in the same file as the weights).

    state.json is written after the checkpoint, so a kill between the two leaves it one epoch behind; the step
    count cannot disagree with the weights. A step count that is not whole epochs of ``steps_per_epoch`` (a run
    made with another batch size) falls back to state.json.
    """
    recorded = last_epoch(run_dir)
    iterations = int(model.optimizer.iterations.numpy())
    if iterations % steps_per_epoch or abs(iterations // steps_per_epoch - recorded) > 1:
        logger.info(f"checkpoint has {iterations} steps, not whole epochs of {steps_per_epoch}: after {recorded}")
        return recorded
    return iterations // steps_per_epoch


def _seed_states(model: Any) -> list[Any]:
    """The state variables of the model's random seed generators (Dropout's): ``model.save`` leaves them out."""
    return [v for v in model.variables if "seed_generator_state" in v.path]


def save_random_state(model: Any, run_dir: Path, epoch: int) -> None:
    """Dropout's generator state after ``epoch`` (written before its checkpoint; the one before last is dropped)."""
    states = [np.asarray(v.numpy()) for v in _seed_states(model)]

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, *states)  # arr_0, arr_1, ... in the model's variable order

    replace_atomically(run_dir / RANDOM_STATE.format(epoch=epoch), write)
    (run_dir / RANDOM_STATE.format(epoch=epoch - 2)).unlink(missing_ok=True)


def restore_random_state(model: Any, run_dir: Path, epoch: int) -> None:
    """Dropout's generators where the interrupted run left them after ``epoch`` (older runs have no such file)."""
    path = run_dir / RANDOM_STATE.format(epoch=epoch)
    if not path.exists():
        logger.info(f"no {path.name}: dropout draws restart from their seed")
        return
    with np.load(path) as saved:
        for i, variable in enumerate(_seed_states(model)):
            variable.assign(saved[f"arr_{i}"])


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model + optimizer after every epoch (atomically) and prints one progress line per epoch."""

    def __init__(self, run_dir: Path, epochs: int) -> None:
        super().__init__()
        self.run_dir, self.epochs = run_dir, epochs

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        # The random state first, named by its epoch: a kill before the checkpoint lands leaves the older
        # checkpoint beside its own state file.
        save_random_state(self.model, self.run_dir, epoch + 1)
        replace_atomically(self.run_dir / CHECKPOINT, self.model.save)
        write_state(self.run_dir, "running", epoch + 1, self.epochs)
        seconds = time.monotonic() - self.started
        figures = " ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        eta = seconds * (self.epochs - epoch - 1)
        logger.info(f"epoch {epoch + 1}/{self.epochs} {figures} {seconds:.0f}s eta {eta / 60:.1f}min")
