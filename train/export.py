"""``python -m train export``: write a run's model as TFLite (float32, float16 or int8) beside it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from emotion_core.classify.registry import read_card, resolve_model
from emotion_core.classify.run_folder import CONFIG_FILE
from emotion_core.classify.tflite import CALIBRATION_IMAGES, export_run
from emotion_core.data.datasets import open_dataset
from emotion_core.errors import EmotionCoreError
from emotion_core.paths import SAMPLE_DATA

logger = logging.getLogger(__name__)


def export(model: str | Path | None, quantize: str = "none") -> Path:
    """Export a registered model or run folder; int8 calibrates on faces from the data it was trained on."""
    run_dir = resolve_model(model)
    if quantize != "int8":
        return export_run(run_dir, quantize)
    faces, source = calibration_faces(run_dir)
    return export_run(run_dir, quantize, faces, source)


def calibration_faces(run_dir: Path, limit: int = CALIBRATION_IMAGES) -> tuple[np.ndarray, str]:
    """Up to ``limit`` faces from the run's training split; the bundled FER2013 sample (with a warning) if gone.

    int8 ranges come from these images: faces unlike the training data clip activations and cost accuracy.
    """
    data, split = _training_data(run_dir)
    try:
        return _sample_faces(data, split, limit), f"{data} ({split})"
    except (EmotionCoreError, OSError, ValueError) as error:
        logger.warning("int8 calibration: training data unavailable (%s); using the bundled FER2013 sample", error)
    return _sample_faces(SAMPLE_DATA, None, limit), f"{SAMPLE_DATA} (fallback)"


def _training_data(run_dir: Path) -> tuple[str, str]:
    """Dataset path and split the run trained on, from config.json or the metadata's training block."""
    try:
        config = json.loads((run_dir / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        config = dict(read_card(run_dir).training)
    return str(config.get("data") or ""), str(config.get("train_split") or "train")


def _sample_faces(data: str | Path, split: str | None, limit: int) -> np.ndarray:
    if not str(data):
        raise ValueError("the run does not name its dataset")
    dataset = open_dataset(data)
    samples = dataset.split_samples(split or dataset.splits[0])
    chosen = np.random.default_rng(0).permutation(len(samples))[:limit]
    x, _, _ = dataset.load([samples[i] for i in chosen], dataset.classes)
    if not len(x):
        raise ValueError(f"no readable images in {data}")
    return x
