"""``python -m train evaluate``: score a model on one split of a dataset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emotion_core.classify.predictor import Predictor
from emotion_core.data.datasets import FaceChoice, open_dataset
from emotion_core.data.evaluate import NO_FACE, score
from emotion_core.data.person_splits import PersonSplit
from emotion_core.data.photo_crops import CropCache, PhotoCropper
from emotion_core.errors import DatasetLayoutError


@dataclass
class Evaluation:
    """A report plus what it was computed from, per sample, for galleries and drill-downs."""

    report: dict[str, Any]
    labels: list[str]  # the model's classes: columns of ``probabilities``
    refs: list[str]  # dataset file (or CSV line) of each scored sample
    x: np.ndarray  # (n, 48, 48, 1) uint8 model inputs
    y: np.ndarray  # true class index into ``labels``
    probabilities: np.ndarray  # (n, len(labels))
    faces: FaceChoice | None = None  # crops or detect, and why


def evaluate(
    data: str | Path,
    split: str = "test",
    model: str | Path | None = None,
    faces: str = "auto",
    people: PersonSplit | None = None,
) -> dict[str, Any]:
    """The DESIGN.md report: accuracy, n, per_class, confusion (rows: true classes present; columns: model classes)."""
    return evaluate_with_predictions(data, split, model, faces, people).report


def evaluate_with_predictions(
    data: str | Path,
    split: str = "test",
    model: str | Path | None = None,
    faces: str = "auto",
    people: PersonSplit | None = None,
) -> Evaluation:
    """Like ``evaluate`` but keeps each sample's probabilities, e.g. to show the most confident mistakes.

    With ``faces`` 'detect' (or 'auto' on photos) each photo is cropped to its largest face as the Predictor
    does; a photo without a face counts as a wrong answer (``n`` includes it), listed under faces.no_face.
    """
    predictor = Predictor.load(model)  # a .tflite path runs the export; the card's views and weights apply
    labels = predictor.labels
    dataset = open_dataset(data)
    if people:
        dataset = people.apply(dataset)
    samples = dataset.split_samples(split)
    unknown = sorted({s.label for s in samples} - set(labels))
    if unknown and len(unknown) == len({s.label for s in samples}):
        raise DatasetLayoutError(f"none of the classes in {data} ({', '.join(unknown)}) are known to the model")
    config = predictor.preprocess_config
    choice = dataset.choose_faces(faces, config.size)
    cropper = PhotoCropper(config, predictor.detector, CropCache()) if choice.mode == "detect" else None
    loaded = dataset.load_faces(samples, labels, cropper)
    probabilities = predictor.classify_all(loaded.x)
    missed = np.array([labels.index(s.label) for s in loaded.no_face], dtype=np.int64)
    y_pred = np.concatenate([probabilities.argmax(axis=1), np.full(len(missed), NO_FACE)])
    report = score(np.concatenate([loaded.y, missed]), y_pred, labels)
    report["model"] = predictor.card.name or str(model)
    report["runtime"] = predictor.runtime
    if predictor.file:
        report["file"] = predictor.file
    report["skipped"] = {"unreadable": [ref for ref, _ in loaded.bad], "unknown_classes": unknown}
    report["faces"] = {
        "mode": choice.mode,
        "chosen": choice.reason,
        "no_face": [s.ref for s in loaded.no_face],  # scored as wrong answers
        "several": [ref for ref, _ in loaded.several],  # scored on their largest face
    }
    return Evaluation(report, labels, loaded.refs, loaded.x, loaded.y, probabilities, choice)


def format_report(report: dict[str, Any]) -> str:
    """Human-readable per-class table and confusion matrix (the JSON line follows it)."""
    runtime = report.get("runtime", "keras") + (f" {report['file']}" if "file" in report else "")
    lines = [f"model {report['model']} ({runtime}): accuracy {report['accuracy']:.4f} on {report['n']} images"]
    if "faces" in report:
        lines.append(f"faces: {report['faces']['mode']} ({report['faces']['chosen']})")
    lines.append("")
    lines.append(f"{'class':<10} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}")
    for name, m in report["per_class"].items():
        lines.append(f"{name:<10} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>8}")
    columns = report["confusion_columns"]
    lines += ["", "confusion (rows: true, columns: predicted)", " " * 10 + "".join(f"{c[:7]:>8}" for c in columns)]
    for name, row in zip(report["labels"], report["confusion"], strict=True):
        lines.append(f"{name:<10}" + "".join(f"{v:>8}" for v in row))
    if report["skipped"]["unreadable"]:
        lines.append(f"\nskipped {len(report['skipped']['unreadable'])} unreadable images")
    faces = report.get("faces", {})
    if faces.get("no_face"):
        shown = ", ".join(faces["no_face"][:20]) + (", ..." if len(faces["no_face"]) > 20 else "")
        lines.append(f"\nno face found in {len(faces['no_face'])} photos (scored as wrong): {shown}")
    if faces.get("several"):
        lines.append(f"{len(faces['several'])} photos with several faces (the largest was scored)")
    return "\n".join(lines)
