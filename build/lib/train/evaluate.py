"""``python -m train evaluate``: score a model on one split of a dataset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emotion_core.datasets import open_dataset
from emotion_core.errors import DatasetLayoutError
from emotion_core.evaluate import predict_with, score
from emotion_core.model import forward_function, load_run
from emotion_core.registry import resolve_model
from emotion_core.tflite import load_tflite
from emotion_core.views import TestTimeViews


@dataclass
class Evaluation:
    """A report plus what it was computed from, per sample, for galleries and drill-downs."""

    report: dict[str, Any]
    labels: list[str]  # the model's classes: columns of ``probabilities``
    refs: list[str]  # dataset file (or CSV line) of each scored sample
    x: np.ndarray  # (n, 48, 48, 1) uint8 model inputs
    y: np.ndarray  # true class index into ``labels``
    probabilities: np.ndarray  # (n, len(labels))


def evaluate(data: str | Path, split: str = "test", model: str | Path | None = None) -> dict[str, Any]:
    """The DESIGN.md report: accuracy, n, per_class, confusion (rows: true classes present; columns: model classes)."""
    return evaluate_with_predictions(data, split, model).report


def evaluate_with_predictions(data: str | Path, split: str = "test", model: str | Path | None = None) -> Evaluation:
    """Like ``evaluate`` but keeps each sample's probabilities, e.g. to show the most confident mistakes."""
    forward, metadata = _forward(model)
    labels = list(metadata["labels"])
    dataset = open_dataset(data)
    samples = dataset.split_samples(split)
    unknown = sorted({s.label for s in samples} - set(labels))
    if unknown and len(unknown) == len({s.label for s in samples}):
        raise DatasetLayoutError(f"none of the classes in {data} ({', '.join(unknown)}) are known to the model")
    x, y, bad = dataset.load(samples, labels)
    probabilities = predict_with(forward, x, len(labels))
    report = score(y, probabilities.argmax(axis=1), labels)
    report["model"] = metadata.get("name", str(model))
    report["runtime"] = metadata.get("runtime", "keras")
    if "file" in metadata:
        report["file"] = metadata["file"]
    report["skipped"] = {"unreadable": [ref for ref, _ in bad], "unknown_classes": unknown}
    skipped = set(report["skipped"]["unreadable"])
    refs = [s.ref for s in samples if s.label in labels and s.ref not in skipped]  # load() keeps these, in order
    return Evaluation(report, labels, refs, x, y, probabilities)


def _forward(model: str | Path | None) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """The model's forward pass and metadata: Keras for a name or run folder, TFLite for a .tflite path."""
    if str(model).endswith(".tflite"):
        lite, metadata = load_tflite(model)
        return TestTimeViews.of(metadata).averaged(lite), metadata
    keras_model, metadata = load_run(resolve_model(model))
    return TestTimeViews.of(metadata).averaged(forward_function(keras_model)), metadata


def format_report(report: dict[str, Any]) -> str:
    """Human-readable per-class table and confusion matrix (the JSON line follows it)."""
    runtime = report.get("runtime", "keras") + (f" {report['file']}" if "file" in report else "")
    lines = [f"model {report['model']} ({runtime}): accuracy {report['accuracy']:.4f} on {report['n']} images", ""]
    lines.append(f"{'class':<10} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for name, m in report["per_class"].items():
        lines.append(f"{name:<10} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>8}")
    columns = report["confusion_columns"]
    lines += ["", "confusion (rows: true, columns: predicted)", " " * 10 + "".join(f"{c[:7]:>8}" for c in columns)]
    for name, row in zip(report["labels"], report["confusion"], strict=True):
        lines.append(f"{name:<10}" + "".join(f"{v:>8}" for v in row))
    if report["skipped"]["unreadable"]:
        lines.append(f"\nskipped {len(report['skipped']['unreadable'])} unreadable images")
    return "\n".join(lines)
