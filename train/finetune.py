"""Fine-tuning: start a run from a trained model's weights, growing its output layer for classes it lacks."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from emotion_core.classify.network import build_model, load_run
from emotion_core.classify.registry import resolve_model
from emotion_core.labels import ordered_labels


def initial_model(init: str, data_labels: list[str]) -> tuple[keras.Model, list[str], str]:
    """(model, labels, architecture) for a run starting from model ``init`` on data with ``data_labels``.

    Labels become the union in canonical order, so a model trained on seven emotions and fine-tuned on
    data that adds contempt (or lacks neutral) still knows all of them.
    """
    source, card = load_run(resolve_model(init))
    source_labels = list(card.labels)
    labels = ordered_labels(set(source_labels) | set(data_labels))
    architecture = card.architecture if card.architecture != "unknown" else source.name
    target = build_model(architecture, len(labels), source.input_shape[1])
    transfer_weights(source, source_labels, target, labels)
    return target, labels, architecture


def transfer_weights(source: keras.Model, source_labels: list[str], target: keras.Model, labels: list[str]) -> None:
    """Copy every layer's weights; the output layer's column of each known class moves to its new index.

    New classes keep the target's fresh initialisation (Glorot kernel, zero bias): the features are shared.
    """
    source_layers = [layer for layer in source.layers if layer.weights]
    target_layers = [layer for layer in target.layers if layer.weights]
    if len(source_layers) != len(target_layers):
        raise ValueError(f"cannot start from model '{source.name}': its layers differ from the architecture's")
    for old, new in zip(source_layers[:-1], target_layers[:-1], strict=True):
        new.set_weights(old.get_weights())
    target_layers[-1].set_weights(_output_weights(source_layers[-1], target_layers[-1], source_labels, labels))


def _output_weights(old: Any, new: Any, source_labels: list[str], labels: list[str]) -> list[np.ndarray]:
    weights = [w.copy() for w in new.get_weights()]  # kernel (features, classes), bias (classes)
    for old_index, label in enumerate(source_labels):
        for w, old_w in zip(weights, old.get_weights(), strict=True):
            w[..., labels.index(label)] = old_w[..., old_index]
    return weights
