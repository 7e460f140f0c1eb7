"""The layout of a run folder, and how new ones are named: the one place that knows these file names.

A run folder holds a trained model and everything its training wrote; the registry lists those with a model,
the Train page watches the others. Only the runs folder itself (``paths.runs_dir``) holds ``active.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

MODEL_FILE = "model.keras"  # the finished float32 model
METADATA_FILE = "metadata.json"  # labels, input size, preprocessing, training config, metrics, exports
CHECKPOINT_FILE = "checkpoint.keras"  # model + optimizer after the last finished epoch (resume starts here)
STATE_FILE = "state.json"  # {status, epoch, epochs, pid}, rewritten by train.fit every epoch
LOG_FILE = "log.csv"  # one row per finished epoch (Keras's CSVLogger)
CONFIG_FILE = "config.json"  # the TrainConfig, written just before the first epoch
OUTPUT_FILE = "train.log"  # the background process's stdout and stderr
OWNER_FILE = "owner.json"  # {owner, started}: who launched (or last resumed) the run from the dashboard, and when
ACTIVE_FILE = "active.json"  # in the runs folder, not a run folder: {run, pid, started, start_epoch, epochs}
COMBINE_DIR = ".combining"  # in the runs folder: one folder per ensemble being saved (train.combine), not a run


def is_model_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a finished model (both files a Predictor loads)."""
    return (folder / MODEL_FILE).is_file() and (folder / METADATA_FILE).is_file()


def run_name(architecture: str, when: float | None = None) -> str:
    """The default name of a new run: ``<architecture>-YYYYmmdd-HHMMSS`` (local time)."""
    return f"{architecture}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(when))}"


def new_run_dir(root: Path, architecture: str) -> Path:
    """A run folder path under ``root`` not taken yet: the default name, suffixed -2, -3... on a clash."""
    stem = run_name(architecture)
    run_dir, n = root / stem, 1
    while run_dir.exists():
        n += 1
        run_dir = root / f"{stem}-{n}"
    return run_dir
