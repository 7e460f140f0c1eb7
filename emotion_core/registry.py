"""Where models live: the default that ships in the package, and a runs folder for trained ones."""

from __future__ import annotations

import os
from pathlib import Path

from emotion_core.errors import ModelNotFoundError

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
