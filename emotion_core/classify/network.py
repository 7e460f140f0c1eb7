"""The CNN: build it, and save/load it as a self-describing run folder (model.keras + metadata.json)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from emotion_core.classify.architectures import check_architecture
from emotion_core.classify.card import ModelCard
from emotion_core.errors import ModelLoadError, ModelNotFoundError
from emotion_core.files import replace_atomically, write_json_atomic
from emotion_core.vision.align import INPUT_SIZE
from emotion_core.classify.registry import read_card
from emotion_core.classify.run_folder import METADATA_FILE, MODEL_FILE

# Re-exported: callers that already load Keras may keep importing these from here.
__all__ = [
    "METADATA_FILE",
    "MODEL_FILE",
    "build_model",
    "forward_function",
    "load_run",
    "replace_atomically",
    "save_run",
    "write_json_atomic",
    "ARCHITECTURES",
]


def _conv_block(x: Any, filters: int, convs: int, dropout: float) -> Any:
    for _ in range(convs):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.MaxPooling2D()(x)
    return layers.Dropout(dropout)(x) if dropout else x


def _vgg(x: Any, num_classes: int) -> Any:
    """VGG-style: four stages of two 3x3 convs with BatchNorm (32-64-128-256), ~1.8M params."""
    for filters, dropout in ((32, 0.0), (64, 0.1), (128, 0.2), (256, 0.3)):
        x = _conv_block(x, filters, convs=2, dropout=dropout)
    x = layers.Flatten()(x)
    x = layers.Dense(256, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.5)(x)
    return layers.Dense(num_classes)(x)


def _tiny(x: Any, num_classes: int) -> Any:
    """A few thousand params: for tests and smoke runs, not for accuracy."""
    x = _conv_block(x, 8, convs=1, dropout=0.0)
    x = _conv_block(x, 16, convs=1, dropout=0.0)
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Dense(num_classes)(x)


ARCHITECTURES: dict[str, Callable[[Any, int], Any]] = {"vgg": _vgg, "tiny": _tiny}
# emotion_core.classify.architectures lists these names for callers that must not load Keras (a test keeps the two equal).


def build_model(architecture: str, num_classes: int, size: int = INPUT_SIZE) -> keras.Model:
    """A model taking uint8-valued (n, size, size, 1) faces and returning class probabilities.

    Scaling lives inside the model so training, the Predictor and exports cannot disagree on it.
    Softmax is computed in float32 even under a mixed-precision policy.
    """
    check_architecture(architecture)
    inputs = keras.Input((size, size, 1), name="face")
    x = layers.Rescaling(1 / 255.0)(inputs)
    logits = ARCHITECTURES[architecture](x, num_classes)
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
    card = read_card(run_dir)
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as error:  # Keras raises ValueError, OSError, BadZipFile, KeyError... for a broken file
        raise ModelLoadError(f"cannot load {model_path} ({first_line(error)}); retrain or restore it") from error
    if model.output_shape[-1] != len(card.labels):
        raise ModelLoadError(
            f"{model_path} has {model.output_shape[-1]} outputs but its metadata names {len(card.labels)} labels"
        )
    return model, card


def first_line(error: BaseException, limit: int = 200) -> str:
    """An exception as one short line: library errors can span pages (Keras quotes whole configs)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
