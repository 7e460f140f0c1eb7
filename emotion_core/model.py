"""The CNN: build it, and save/load it as a self-describing run folder (model.keras + metadata.json)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is not our users' business

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from emotion_core.errors import ModelLoadError, ModelNotFoundError  # noqa: E402
from emotion_core.preprocess import INPUT_SIZE  # noqa: E402

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"


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


def build_model(architecture: str, num_classes: int, size: int = INPUT_SIZE) -> keras.Model:
    """A model taking uint8-valued (n, size, size, 1) faces and returning class probabilities.

    Scaling lives inside the model so training, the Predictor and exports cannot disagree on it.
    Softmax is computed in float32 even under a mixed-precision policy.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture '{architecture}'; choose one of {', '.join(ARCHITECTURES)}")
    inputs = keras.Input((size, size, 1), name="face")
    x = layers.Rescaling(1 / 255.0)(inputs)
    logits = ARCHITECTURES[architecture](x, num_classes)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(logits)
    return keras.Model(inputs, outputs, name=architecture)


def forward_function(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled forward pass over any batch size: uint8-valued (n, s, s, 1) array -> probabilities.

    Calling a Keras model eagerly runs layer by layer in Python; one traced graph is several times
    faster for the 1-4 faces of a webcam frame. Test-time views wrap this (emotion_core.views).
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


def load_run(run_dir: str | Path) -> tuple[keras.Model, dict[str, Any]]:
    """Load a run folder's model and metadata; the metadata's labels say what the outputs mean."""
    run_dir = Path(run_dir)
    model_path, meta_path = run_dir / MODEL_FILE, run_dir / METADATA_FILE
    if not model_path.is_file() or not meta_path.is_file():
        raise ModelNotFoundError(f"{run_dir} is not a model folder (needs {MODEL_FILE} and {METADATA_FILE})")
    metadata = read_metadata_file(meta_path)
    try:
        model = keras.models.load_model(model_path, compile=False)
    except Exception as error:  # Keras raises ValueError, OSError, BadZipFile, KeyError... for a broken file
        raise ModelLoadError(f"cannot load {model_path} ({first_line(error)}); retrain or restore it") from error
    return model, metadata


def read_metadata_file(path: Path) -> dict[str, Any]:
    """A metadata.json as a dict with its labels, or ModelLoadError saying what is wrong with it."""
    try:
        metadata = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ModelLoadError(f"cannot read {path} ({first_line(error)})") from error
    if not isinstance(metadata, dict) or not isinstance(metadata.get("labels"), list) or not metadata["labels"]:
        raise ModelLoadError(f"{path} has no list of labels: not a model's metadata")
    return metadata


def first_line(error: BaseException, limit: int = 200) -> str:
    """An exception as one short line: library errors can span pages (Keras quotes whole configs)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def replace_atomically(target: Path, write: Callable[[Path], Any]) -> None:
    """Let ``write`` fill a temporary file beside ``target``, then rename it over ``target``.

    A reader (or a process killed mid-write) sees the old file or the new one, never half of one.
    """
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=target.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)  # mkstemp makes the file private; model files are meant to be shared
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: Path, data: Any) -> None:
    """JSON written beside its target then renamed over it, so readers never see half a file."""
    text = json.dumps(data, indent=2, default=str)
    replace_atomically(path, lambda tmp: tmp.write_text(text))
