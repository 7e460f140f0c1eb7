"""A run folder's progress while training: its state file, its per-epoch log and checkpoint."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import keras

from emotion_core.classify.run_folder import CHECKPOINT_FILE as CHECKPOINT
from emotion_core.classify.run_folder import STATE_FILE as STATE
from emotion_core.files import replace_atomically, write_json_atomic

logger = logging.getLogger(__name__)


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


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model + optimizer after every epoch (atomically) and prints one progress line per epoch."""

    def __init__(self, run_dir: Path, epochs: int) -> None:
        super().__init__()
        self.run_dir, self.epochs = run_dir, epochs

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        replace_atomically(self.run_dir / CHECKPOINT, self.model.save)
        write_state(self.run_dir, "running", epoch + 1, self.epochs)
        seconds = time.monotonic() - self.started
        figures = " ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        eta = seconds * (self.epochs - epoch - 1)
        logger.info(f"epoch {epoch + 1}/{self.epochs} {figures} {seconds:.0f}s eta {eta / 60:.1f}min")
