"""Managing registered models: list, rename, delete and compare them.

It lives in ``train`` rather than ``emotion_core.registry`` because renaming or deleting must know whether a
training run is writing into the folder (train.launcher) and comparing scores through train.evaluate.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import pandas as pd

from emotion_core.errors import EmotionCoreError, ModelLoadError, ModelNotFoundError
from emotion_core.registry import DEFAULT_NAME, list_models, model_summaries, read_metadata, runs_dir
from train import launcher

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ModelActionError(EmotionCoreError):
    """A rename or delete that must not happen (bad name, clash, the shipped model, a run in progress)."""


def model_table() -> pd.DataFrame:
    """One row per model: name, accuracy, created, architecture, labels and size on disk (MB)."""
    rows = model_summaries()
    folders = list_models()
    for row in rows:
        row["size_mb"] = round(_folder_bytes(folders[row["model"]]) / 2**20, 2)
        try:
            row["classes"] = len(read_metadata(row["model"]).get("labels", []))
        except ModelLoadError:
            row["classes"] = None
    columns = ["model", "accuracy", "created", "architecture", "classes", "size_mb", "problem"]
    return pd.DataFrame(rows).reindex(columns=columns).dropna(axis=1, how="all")


def rename_model(old: str, new: str) -> Path:
    """Rename a trained model's run folder (one atomic rename) and the name in its metadata."""
    folder = _managed_folder(old)
    if not NAME_PATTERN.fullmatch(new):
        raise ModelActionError(f"'{new}' is not a valid model name: use 1-64 letters, digits, '-' or '_'")
    if new == DEFAULT_NAME or (runs_dir() / new).exists():
        raise ModelActionError(f"a model or run named '{new}' already exists; choose another name")
    target = folder.with_name(new)
    os.rename(folder, target)  # atomic within the runs folder: the model is listed under one name or the other
    from emotion_core.model import METADATA_FILE, write_json_atomic

    metadata = read_metadata(target)
    write_json_atomic(target / METADATA_FILE, {**metadata, "name": new})
    return target


def delete_model(name: str) -> None:
    """Delete a trained model's run folder: moved aside in one rename (it vanishes whole), then removed."""
    folder = _managed_folder(name)
    trash = runs_dir() / f".deleting-{name}-{uuid.uuid4().hex[:8]}"
    os.rename(folder, trash)
    for marker in ("model.keras", launcher.STATE, launcher.OUTPUT):  # first: a half-removed folder is listed nowhere
        (trash / marker).unlink(missing_ok=True)
    shutil.rmtree(trash)


def compare_models(names: list[str], data: str | Path, split: str = "test") -> pd.DataFrame:
    """Long rows (model, class, precision, recall, f1, support, accuracy) of several models on one split."""
    from train.evaluate import evaluate

    frames = []
    for name in names:
        report = evaluate(data, split, name)
        frame = pd.DataFrame.from_dict(report["per_class"], orient="index").rename_axis("class").reset_index()
        frames.append(frame.assign(model=name, accuracy=report["accuracy"]))
    columns = ["model", "class", "precision", "recall", "f1", "support", "accuracy"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def _managed_folder(name: str) -> Path:
    """The run folder of a trained model that may be renamed or deleted, else ModelActionError saying why."""
    if name == DEFAULT_NAME:
        raise ModelActionError(f"'{DEFAULT_NAME}' is the model shipped with the app; it cannot be renamed or deleted")
    folder = list_models().get(name)
    if folder is None:
        raise ModelNotFoundError(f"no model '{name}'; available: {', '.join(list_models())}")
    if folder.resolve().parent != runs_dir().resolve():
        raise ModelActionError(f"{folder} is outside the runs folder {runs_dir()}; only models in it can be changed")
    run = launcher.run_status(folder)
    if run.alive:
        raise ModelActionError(f"'{name}' is {run.status} (pid {run.pid}); cancel the run or wait for it to finish")
    return folder


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
