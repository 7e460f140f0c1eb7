"""Where models live: the default that ships in the package, and a runs folder for trained ones."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from emotion_core.errors import ModelLoadError, ModelNotFoundError

DEFAULT_MODEL_DIR = Path(__file__).parent / "models" / "default"
DEFAULT_NAME = "default"


def runs_dir() -> Path:
    """Trained runs go here: $EMOTION_RUNS, else runs/ beside the package (the repo root)."""
    return Path(os.environ.get("EMOTION_RUNS", Path(__file__).resolve().parent.parent / "runs"))


def list_models() -> dict[str, Path]:
    """Name -> folder for the shipped default and every finished run (those with a model.keras)."""
    models = {DEFAULT_NAME: DEFAULT_MODEL_DIR}
    root = runs_dir()
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if (folder / "model.keras").is_file() and (folder / "metadata.json").is_file():
                models[folder.name] = folder
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
    if path.is_file() and path.name == "model.keras":
        return path.parent
    raise ModelNotFoundError(f"no model '{name_or_path}'; available: {', '.join(models)} (or a run folder path)")


def read_metadata(name_or_path: str | Path | None = None) -> dict[str, Any]:
    """A model's metadata.json without loading the network: cheap enough for listings and the Home page."""
    path = resolve_model(name_or_path) / "metadata.json"
    try:
        metadata = json.loads(path.read_text())
    except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        raise ModelLoadError(f"cannot read {path}: {error}") from None
    if not isinstance(metadata, dict):
        raise ModelLoadError(f"{path} is not a JSON object: not a model's metadata")
    return metadata


def model_version(name_or_path: str | Path | None = None) -> float:
    """model.keras's modification time: caches keyed on (name, version) notice a retrained or replaced model."""
    try:
        return (resolve_model(name_or_path) / "model.keras").stat().st_mtime
    except OSError:
        return 0.0


def model_summaries() -> list[dict[str, Any]]:
    """One row per available model (name, architecture, accuracy, created); an unreadable one says why."""
    rows = []
    for name in list_models():
        try:
            meta = read_metadata(name)
        except ModelLoadError as error:
            rows.append({"model": name, "problem": str(error)})
            continue
        metrics = meta.get("metrics") or {}
        rows.append(
            {
                "model": name,
                "architecture": meta.get("architecture"),
                "accuracy": metrics.get("accuracy"),
                "created": meta.get("created"),
            }
        )
    return rows
