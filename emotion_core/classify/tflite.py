"""TensorFlow Lite: convert a run's Keras model to a .tflite file beside it, and run such a file.

A .tflite file carries only the network; its labels, input size and test-time views come from the
metadata.json of the run folder it sits in, so an exported model describes itself like the Keras one.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from emotion_core.classify.card import ModelCard
from emotion_core.classify.network import load_run
from emotion_core.classify.registry import DEFAULT_NAME, folder_card, read_metadata, resolve_model
from emotion_core.classify.run_folder import METADATA_FILE
from emotion_core.errors import ModelLoadError, ModelNotFoundError, first_line
from emotion_core.files import replace_atomically, write_json_atomic

QUANTIZATIONS = ("none", "float16", "int8")
CALIBRATION_IMAGES = 200  # int8 ranges settle well before this; more only slows the export


def tflite_file(quantize: str) -> str:
    """File name of an export: model.tflite, model.float16.tflite, model.int8.tflite."""
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization '{quantize}'; choose one of {', '.join(QUANTIZATIONS)}")
    return "model.tflite" if quantize == "none" else f"model.{quantize}.tflite"


def convert(model: Any, quantize: str = "none", representative: np.ndarray | None = None) -> bytes:
    """The model as TFLite flatbuffer bytes; float inputs 0-255 and float probabilities out, whatever the weights.

    int8 quantizes weights and activations (full-integer kernels) from ``representative`` faces, a uint8
    (n, s, s, 1) array; without it, weights only (dynamic range). Inputs and outputs stay float so every
    variant is fed and read the same way.
    """
    import tensorflow as tf

    tflite_file(quantize)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if representative is not None and len(representative):
            converter.representative_dataset = lambda: _batches_of_one(representative)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # Keras prints its SavedModel export summary on the way; float inputs are meant, not missing statistics.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return converter.convert()


def _batches_of_one(faces: np.ndarray) -> Iterator[list[np.ndarray]]:
    for face in faces:
        yield [face[None].astype(np.float32)]


def export_run(
    run_dir: str | Path, quantize: str = "none", representative: np.ndarray | None = None, calibration: str = ""
) -> Path:
    """Write the run's model as a .tflite beside model.keras and list it under metadata["exports"]."""
    run_dir = Path(run_dir)
    model, _ = load_run(run_dir)
    metadata = read_metadata(run_dir)  # the file as written, so keys this version does not know survive
    target = run_dir / tflite_file(quantize)
    flatbuffer = convert(model, quantize, representative)
    replace_atomically(target, lambda tmp: tmp.write_bytes(flatbuffer))
    record = {
        "file": target.name,
        "format": "tflite",
        "quantize": quantize,
        "bytes": target.stat().st_size,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if quantize == "int8":
        record["calibration"] = calibration if representative is not None else "none (dynamic range)"
    metadata.setdefault("exports", {})[target.name] = record
    write_json_atomic(run_dir / METADATA_FILE, metadata)
    return target


def _interpreter_class() -> type:
    """LiteRT's interpreter: the same API as tf.lite.Interpreter, which TensorFlow 2.21 schedules for deletion.

    Measured on the shipped int8 export: identical probabilities (max difference 0.0) and the same faces/s.
    """
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


class TFLiteModel:
    """One interpreter over a .tflite file. Not thread-safe: the Predictor's lock serialises calls."""

    def __init__(self, path: str | Path, num_threads: int | None = None) -> None:
        self.path = Path(path)
        # The interpreter's own default is one thread; on 2 cores two threads halve a one-face call
        # (1.25 -> 0.66 ms) and double batched faces/s (790 -> 1580) for the shipped int8 model.
        num_threads = num_threads or os.cpu_count() or 1
        self.interpreter = _interpreter_class()(model_path=str(self.path), num_threads=num_threads)
        self._input = self.interpreter.get_input_details()[0]["index"]
        self._output = self.interpreter.get_output_details()[0]["index"]
        self._batch = -1

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities for a (n, s, s, 1) batch; the input is resized when n changes (cheap, no re-conversion)."""
        if len(faces) != self._batch:
            self.interpreter.resize_tensor_input(self._input, [len(faces), *faces.shape[1:]])
            self.interpreter.allocate_tensors()
            self._batch = len(faces)
        self.interpreter.set_tensor(self._input, np.asarray(faces, np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output).copy()  # the buffer is reused by the next invoke


def live_model(name_or_path: str | Path | None = None) -> str:
    """What live video should run: the model's int8 export when it has one, else the model itself.

    Per-frame latency rules the webcam. Measured on the shipped model (benchmarks/tflite.py): int8 is
    1.3 ms a face against Keras' 4.9 ms; on FER2013's test split the int8 export scores 0.7086 against
    Keras' 0.7097 (six views each).
    """
    export = resolve_model(name_or_path) / tflite_file("int8")
    return str(export) if export.is_file() else str(name_or_path or DEFAULT_NAME)


def tflite_path(name_or_path: str | Path | None) -> Path:
    """A .tflite path as given, or a registered model / run folder's float32 export (model.tflite)."""
    if str(name_or_path).endswith(".tflite"):
        path = Path(str(name_or_path))
    else:
        path = resolve_model(name_or_path) / tflite_file("none")
    if not path.is_file():
        raise ModelNotFoundError(f"no TFLite file {path}; create it with: python -m train export --model {path.parent}")
    return path


def load_tflite(name_or_path: str | Path | None) -> tuple[TFLiteModel, ModelCard]:
    """A TFLite model and the card of the run folder it was exported into."""
    path = tflite_path(name_or_path)
    card = folder_card(path.parent)
    try:
        return TFLiteModel(path), card
    except (ValueError, RuntimeError, OSError) as error:  # the interpreter's words for a truncated or foreign file
        raise ModelLoadError(f"cannot load {path} ({first_line(error)}); export it again") from error
