"""``python -m train evaluate``: score a model on one split of a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emotion_core.datasets import open_dataset
from emotion_core.errors import DatasetLayoutError
from emotion_core.evaluate import evaluate_arrays
from emotion_core.model import load_run
from emotion_core.registry import resolve_model


def evaluate(data: str | Path, split: str = "test", model: str | Path | None = None) -> dict[str, Any]:
    """The DESIGN.md report: accuracy, n, per_class, confusion (rows: true classes present; columns: model classes)."""
    keras_model, metadata = load_run(resolve_model(model))
    labels = list(metadata["labels"])
    dataset = open_dataset(data)
    samples = dataset.split_samples(split)
    unknown = sorted({s.label for s in samples} - set(labels))
    if unknown and len(unknown) == len({s.label for s in samples}):
        raise DatasetLayoutError(f"none of the classes in {data} ({', '.join(unknown)}) are known to the model")
    x, y, bad = dataset.load(samples, labels)
    report = evaluate_arrays(keras_model, x, y, labels)
    report["model"] = metadata.get("name", str(model))
    report["skipped"] = {"unreadable": [ref for ref, _ in bad], "unknown_classes": unknown}
    return report


def format_report(report: dict[str, Any]) -> str:
    """Human-readable per-class table and confusion matrix (the JSON line follows it)."""
    lines = [f"model {report['model']}: accuracy {report['accuracy']:.4f} on {report['n']} images", ""]
    lines.append(f"{'class':<10} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for name, m in report["per_class"].items():
        lines.append(f"{name:<10} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>8}")
    columns = report["confusion_columns"]
    lines += ["", "confusion (rows: true, columns: predicted)", " " * 10 + "".join(f"{c[:7]:>8}" for c in columns)]
    for name, row in zip(report["labels"], report["confusion"]):
        lines.append(f"{name:<10}" + "".join(f"{v:>8}" for v in row))
    if report["skipped"]["unreadable"]:
        lines.append(f"\nskipped {len(report['skipped']['unreadable'])} unreadable images")
    return "\n".join(lines)
