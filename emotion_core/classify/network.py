"""The CNN: build it, and save/load it as a self-describing run folder (model.keras + metadata.json)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from emotion_core.classify.architectures import builder
from emotion_core.classify.card import ModelCard
from emotion_core.classify.registry import folder_card
from emotion_core.classify.run_folder import METADATA_FILE, MODEL_FILE
from emotion_core.errors import ModelLoadError, ModelNotFoundError, first_line
from emotion_core.files import replace_atomically, write_json_atomic
from emotion_core.vision.align import INPUT_SIZE


def build_model(architecture: str, num_classes: int, size: int = INPUT_SIZE) -> keras.Model:
    """A model taking uint8-valued (n, size, size, 1) faces and returning class probabilities.

    Scaling lives inside the model so training, the Predictor and exports cannot disagree on it.
    Softmax is computed in float32 even under a mixed-precision policy.
    """
    build = builder(architecture)
    inputs = keras.Input((size, size, 1), name="face")
    x = layers.Rescaling(1 / 255.0)(inputs)
    logits = build(x, num_classes)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(logits)
    return keras.Model(inputs, outputs, name=architecture)


def forward_function(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled forward pass over any batch size: uint8-valued (n, s, s, 1) array -> probabilities.

    Calling a Keras model eagerly runs layer by layer in Python; one traced graph is several times
    faster for the 1-4 faces of a webcam frame. Test-time views wrap this (emotion_core.classify.views).
    """
    import tensorflow as tf

    size = model.input_shape[1]

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 1], tf.float32)], reduce_retracing=True)
    def forward(x: tf.Tensor) -> tf.Tensor:
        return model(x, training=False)

    return lambda faces: forward(np.asarray(faces, np.float32)).numpy()


def save_run(run_dir: str | Path, model: keras.Model, metadata: dict[str, Any]) -> Path:
    """Write model.keras and metadata.json atomically: a kill leaves the old pair or the new."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    replace_atomically(run_dir / MODEL_FILE, model.save)
    write_json_atomic(run_dir / METADATA_FILE, metadata)
    return run_dir


def load_run(run_dir: str | Path) -> tuple[keras.Model, ModelCard]:
    """Load a run folder's model and its card; the card's labels say what the outputs mean."""
    run_dir = Path(run_dir)
    model_path, meta_path = run_dir / MODEL_FILE, run_dir / METADATA_FILE
    if not model_path.is_file() or not meta_path.is_file():
        raise ModelNotFoundError(f"{run_dir} is not a model folder (needs {MODEL_FILE} and {METADATA_FILE})")
    card = folder_card(run_dir)
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as error:  # Keras raises ValueError, OSError, BadZipFile, KeyError... for a broken file
        raise ModelLoadError(f"cannot load {model_path} ({first_line(error)}); retrain or restore it") from error
    if model.output_shape[-1] != len(card.labels):
        raise ModelLoadError(
            f"{model_path} has {model.output_shape[-1]} outputs but its metadata names {len(card.labels)} labels"
        )
    return model, card
