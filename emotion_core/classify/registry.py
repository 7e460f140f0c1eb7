"""Where models live: the default that ships in the package, and a runs folder for trained ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emotion_core.classify.card import ModelCard
from emotion_core.classify.run_folder import METADATA_FILE, MODEL_FILE, is_model_folder
from emotion_core.errors import EmotionCoreError, ModelLoadError, ModelNotFoundError
from emotion_core.files import file_version, folder_bytes
from emotion_core.paths import BUNDLED_MODELS, DEFAULT_MODEL_DIR, runs_dir

DEFAULT_NAME = "default"


def bundled_models() -> dict[str, Path]:
    """Name -> folder of the models that ship in the package, the default first: they cannot be renamed or deleted."""
    others = sorted(f for f in BUNDLED_MODELS.iterdir() if f.name != DEFAULT_NAME and is_model_folder(f))
    return {DEFAULT_NAME: DEFAULT_MODEL_DIR, **{folder.name: folder for folder in others}}


def list_models() -> dict[str, Path]:
    """Name -> folder for the shipped models and every finished run (those with a model.keras)."""
    models = bundled_models()
    root = runs_dir()
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if is_model_folder(folder):
                models.setdefault(folder.name, folder)  # a run named like a shipped model cannot shadow it
    return models


def resolve_model(name_or_path: str | Path | None = None) -> Path:
    """A model folder from a registered name or a path; unknown names list what exists."""
    if name_or_path is None or str(name_or_path) == DEFAULT_NAME:
        return DEFAULT_MODEL_DIR
    models = list_models()
    if str(name_or_path) in models:
        return models[str(name_or_path)]
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if path.is_file() and path.name == MODEL_FILE:
        return path.parent
    raise ModelNotFoundError(f"no model '{name_or_path}'; available: {', '.join(models)} (or a run folder path)")


def read_metadata(name_or_path: str | Path | None = None) -> dict[str, Any]:
    """A model's metadata.json without loading the network: cheap enough for listings and the Home page."""
    return folder_metadata(resolve_model(name_or_path))


def folder_metadata(folder: Path) -> dict[str, Any]:
    """``read_metadata`` for a folder already resolved (a load resolves the name once)."""
    path = folder / METADATA_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"{path.parent} is not a model folder: it has no {METADATA_FILE}")
    try:
        metadata = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"cannot read {path}: {error}") from None
    if not isinstance(metadata, dict):
        raise ModelLoadError(f"{path} does not hold a JSON object")
    return metadata


def read_card(name_or_path: str | Path | None = None) -> ModelCard:
    """A model's validated card, without loading the network."""
    return folder_card(resolve_model(name_or_path))


def folder_card(folder: Path) -> ModelCard:
    """``read_card`` for a folder already resolved (a load resolves the name once)."""
    return ModelCard.from_metadata(folder_metadata(folder), source=str(folder / METADATA_FILE))


def model_version(name_or_path: str | Path | None = None) -> float:
    """model.keras's modification time: caches keyed on (name, version) notice a retrained or replaced model."""
    return file_version(resolve_model(name_or_path) / MODEL_FILE)


SUMMARY_COLUMNS = ["model", "accuracy", "created", "architecture", "classes", "size_mb", "problem"]


def model_summaries() -> list[dict[str, Any]]:
    """One row per available model (SUMMARY_COLUMNS: the one model table, for Home, Models and the CLI).

    An unreadable model keeps its row, with what is wrong under "problem".
    """
    rows: list[dict[str, Any]] = []
    for name, folder in list_models().items():
        row: dict[str, Any] = {"model": name, "size_mb": round(folder_bytes(folder) / 2**20, 2)}
        try:
            card = read_card(folder)
        except EmotionCoreError as error:
            rows.append({**row, "problem": str(error)})
            continue
        row |= {
            "architecture": card.architecture,
            "accuracy": card.metrics.get("accuracy"),
            "created": card.created,
            "classes": len(card.labels),
        }
        rows.append(row)
    return rows
