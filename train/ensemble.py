"""``python -m train ensemble``: several trained models saved as one run folder that answers with their consensus.

Independently trained networks make different mistakes, so the mean of their answers is right more often than
any one of them. The ensemble is one Keras model (each member a nested sub-model) whose output is the softmax of
the members' mean logits, i.e. the normalised geometric mean of their probabilities. That mean commutes with
each member's prior correction, so the ensemble's class weights are the geometric mean of the members' and every
runtime (Keras, TFLite int8 for the webcam) runs it as it runs a single model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
from keras import layers

from emotion_core.classify.architectures import ENSEMBLE
from emotion_core.classify.card import ModelCard, check_ensemble_members
from emotion_core.classify.network import load_run, save_run
from emotion_core.classify.registry import read_card, resolve_model
from emotion_core.classify.run_folder import METADATA_FILE
from emotion_core.files import write_json_atomic
from train.combine import STEP
from train.evaluate import evaluate

logger = logging.getLogger(__name__)  # STEP lines: the Models page shows the last one while it combines


def ensemble(models: Sequence[str], out: str | Path) -> Path:
    """Write run folder ``out`` holding the ensemble of ``models`` (registered names or run folders)."""
    folders = [resolve_model(name) for name in models]
    check_ensemble_members([read_card(folder) for folder in folders])
    loaded = []
    for i, folder in enumerate(folders, start=1):
        logger.info(f"{STEP}loading member {i}/{len(folders)}: {folder.name}")
        loaded.append(load_run(folder))
    cards = [card for _, card in loaded]
    logger.info(f"{STEP}building the ensemble")
    size = cards[0].input_size
    inputs = keras.Input((size, size, 1), name="face")
    logits = [member_logits(model, f"member_{i}")(inputs) for i, (model, _) in enumerate(loaded)]
    probabilities = layers.Activation("softmax", dtype="float32", name="probabilities")(layers.Average()(logits))
    model = keras.Model(inputs, probabilities, name=ENSEMBLE)
    card = replace(
        cards[0],
        name=Path(out).name,
        class_weights=mean_class_weights(cards),
        architecture=ENSEMBLE,
        training={"members": [folder.name for folder in folders], "data": cards[0].training.get("data", "")},
        metrics={},
        exports={},
        created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        init="",
    )
    logger.info(f"{STEP}saving '{card.name}'")
    return save_run(out, model, card.to_metadata())


def member_logits(model: keras.Model, name: str) -> keras.Model:
    """The member up to its logits: its softmax head is dropped so the ensemble averages evidence, not votes."""
    head = model.layers[-1]
    if not isinstance(head, layers.Activation):
        raise ValueError(f"model '{model.name}' does not end in a softmax layer; cannot ensemble it")
    return keras.Model(model.inputs, head.input, name=name)


def mean_class_weights(cards: Sequence[ModelCard]) -> tuple[float, ...] | None:
    """Geometric mean of the members' prior corrections (a member without one counts as all ones)."""
    if all(card.class_weights is None for card in cards):
        return None
    stacked = np.array([card.class_weights or [1.0] * len(card.labels) for card in cards], np.float64)
    weights = np.exp(np.log(stacked).mean(axis=0))
    return tuple(round(float(w / weights.min()), 4) for w in weights)


def record_metrics(run_dir: Path, data: str | Path, split: str) -> None:
    """Score the saved ensemble on ``data``'s ``split`` and keep the report in its card, as fit does for a model."""
    report = evaluate(data, split, run_dir)
    card = replace(read_card(run_dir), metrics=report)
    write_json_atomic(run_dir / METADATA_FILE, card.to_metadata())
