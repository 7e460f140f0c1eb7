"""Managing registered models: list, rename, delete and compare them (train.combine combines them).

It lives in ``train`` rather than ``emotion_core.classify.registry`` because renaming or deleting must know whether a
training run is writing into the folder (train.launcher) and comparing scores through train.evaluate.

Renaming, deleting and combining are an admin's (``emotion_core.actors``): a delete cannot be undone, so on a
shared dashboard only an admin may do it; the command line acts as the admin (``actors.SHELL``).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import pandas as pd

from emotion_core.actors import Action, Actor, require
from emotion_core.classify.registry import (
    SUMMARY_COLUMNS,
    bundled_models,
    list_models,
    model_summaries,
    read_metadata,
    runs_dir,
)
from emotion_core.classify.run_folder import METADATA_FILE, MODEL_FILE, OUTPUT_FILE, STATE_FILE
from emotion_core.data.evaluate import comparison_frame
from emotion_core.errors import ModelActionError, ModelNotFoundError
from emotion_core.files import write_json_atomic
from train import launcher

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def model_table() -> pd.DataFrame:
    """registry.model_summaries() as a frame: name, accuracy, created, architecture, classes, size on disk (MB)."""
    return pd.DataFrame(model_summaries()).reindex(columns=SUMMARY_COLUMNS).dropna(axis=1, how="all")


def rename_model(old: str, new: str, actor: Actor) -> Path:
    """Rename a trained model's run folder (one atomic rename) and the name in its metadata (admins only)."""
    require(actor, Action.MANAGE_MODELS)
    folder = _managed_folder(old)
    target = new_model_folder(new)
    os.rename(folder, target)  # atomic within the runs folder: the model is listed under one name or the other
    metadata = read_metadata(target)
    write_json_atomic(target / METADATA_FILE, {**metadata, "name": new})
    return target


def delete_model(name: str, actor: Actor) -> None:
    """Delete a trained model's run folder (admins only): moved aside in one rename (it vanishes whole), then
    removed."""
    require(actor, Action.MANAGE_MODELS)
    folder = _managed_folder(name)
    trash = runs_dir() / f".deleting-{name}-{uuid.uuid4().hex[:8]}"
    os.rename(folder, trash)
    for marker in (MODEL_FILE, STATE_FILE, OUTPUT_FILE):  # first: a half-removed folder is listed nowhere
        (trash / marker).unlink(missing_ok=True)
    shutil.rmtree(trash)


def compare_models(names: list[str], data: str | Path, split: str = "test") -> pd.DataFrame:
    """Long rows (model, class, precision, recall, f1, support, accuracy) of several models on one split."""
    from train.evaluate import evaluate

    return comparison_frame({name: evaluate(data, split, name) for name in names})


def new_model_folder(name: str) -> Path:
    """Where a model called ``name`` would live in the runs folder, else ModelActionError if it may not be."""
    if not NAME_PATTERN.fullmatch(name):
        raise ModelActionError(f"'{name}' is not a valid model name: use 1-64 letters, digits, '-' or '_'")
    if name in bundled_models() or (runs_dir() / name).exists():
        raise ModelActionError(f"a model or run named '{name}' already exists; choose another name")
    return runs_dir() / name


def _managed_folder(name: str) -> Path:
    """The run folder of a trained model that may be renamed or deleted, else ModelActionError saying why."""
    if name in bundled_models():
        raise ModelActionError(f"'{name}' is a model shipped with the app; it cannot be renamed or deleted")
    folder = list_models().get(name)
    if folder is None:
        raise ModelNotFoundError(f"no model '{name}'; available: {', '.join(list_models())}")
    if folder.resolve().parent != runs_dir().resolve():
        raise ModelActionError(f"'{name}' lives outside the runs folder; only models in it can be changed")
    run = launcher.run_status(folder)
    if run.alive:
        raise ModelActionError(f"'{name}' is {run.status}; cancel the run or wait for it to finish")
    return folder
