"""Evaluation given a Predictor: accuracy, per-class precision/recall/F1 and the confusion matrix over the
classes the data has, the most confident mistakes, and several models side by side.

It takes a loaded Predictor rather than a model name, so the dashboard scores with the model it already keeps warm
and the CLI (train.evaluate) loads one itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from emotion_core.data.datasets import FaceChoice, open_dataset
from emotion_core.data.photo_crops import CropCache, PhotoCropper
from emotion_core.errors import DatasetLayoutError

if TYPE_CHECKING:
    from emotion_core.classify.predictor import Predictor
    from emotion_core.data.person_splits import PersonSplit

NO_FACE = -1  # a y_pred value: the photo's face was not found, so no class was predicted (always wrong)
NO_FACE_COLUMN = "no face"


def score(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Metrics for integer labels indexing ``labels``; classes absent from ``y_true`` get no row.

    The model may still predict an absent class (CK+ has no neutral): that counts as a mistake, and
    the confusion matrix keeps a column for every model class so such mistakes stay visible.
    A prediction of NO_FACE (a photo where no face was found) is wrong, in a last 'no face' column.
    """
    present = sorted(set(int(v) for v in y_true))
    columns = list(labels) + ([NO_FACE_COLUMN] if (y_pred == NO_FACE).any() else [])
    confusion = np.zeros((len(labels), len(columns)), dtype=np.int64)
    np.add.at(confusion, (y_true, np.where(y_pred == NO_FACE, len(labels), y_pred)), 1)
    per_class = {}
    for i in present:
        tp = int(confusion[i, i])
        predicted, actual = int(confusion[:, i].sum()), int(confusion[i, :].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[labels[i]] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": actual,
        }
    n = int(len(y_true))
    return {
        "accuracy": round(float((y_true == y_pred).mean()) if n else 0.0, 4),
        "n": n,
        "labels": [labels[i] for i in present],
        "per_class": per_class,
        "confusion": confusion[np.ix_(present, range(len(columns)))].tolist(),
        "confusion_columns": columns,
    }


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


def evaluate_predictor(
    predictor: Predictor,
    data: str | Path,
    split: str = "test",
    faces: str = "auto",
    people: PersonSplit | None = None,
) -> Evaluation:
    """Score ``predictor`` on ``data``'s ``split`` (the DESIGN.md report), keeping each sample's probabilities.

    With ``faces`` 'detect' (or 'auto' on photos) each photo is cropped to its largest face as the Predictor
    does; a photo without a face counts as a wrong answer (``n`` includes it), listed under faces.no_face.
    The card's test-time views and class weights apply, as they do to every answer the Predictor gives.
    """
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
    report["model"] = predictor.card.name
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


@dataclass(frozen=True)
class Mistake:
    """A misclassified sample, for the gallery of confident mistakes."""

    ref: str  # file (or CSV line) in the dataset
    true: str
    predicted: str
    confidence: float  # probability the model gave its (wrong) answer
    face: np.ndarray  # the 48x48 uint8 model input


def confident_mistakes(
    x: np.ndarray, y: np.ndarray, probabilities: np.ndarray, labels: list[str], refs: list[str], limit: int = 24
) -> list[Mistake]:
    """The ``limit`` wrong answers the model was surest of: often label noise or look-alike classes."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    return [
        Mistake(refs[i], labels[y[i]], labels[predicted[i]], float(probabilities[i, predicted[i]]), x[i, :, :, 0])
        for i in order
    ]


def per_class_frame(report: dict[str, Any]) -> pd.DataFrame:
    """The report's per-class metrics as a table indexed by class."""
    return pd.DataFrame.from_dict(report["per_class"], orient="index").rename_axis("class")


def confusion_frame(report: dict[str, Any]) -> pd.DataFrame:
    """Long rows (true, predicted, count, share of the true class) for a heatmap."""
    rows = []
    for true, counts in zip(report["labels"], report["confusion"], strict=True):
        total = sum(counts) or 1
        columns = report["confusion_columns"]
        rows += [(true, predicted, n, n / total) for predicted, n in zip(columns, counts, strict=True)]
    return pd.DataFrame(rows, columns=["true", "predicted", "count", "share"])


COMPARISON_COLUMNS = ["model", "class", "precision", "recall", "f1", "support", "accuracy"]


def comparison_frame(reports: Mapping[str, dict[str, Any]]) -> pd.DataFrame:
    """Long rows (COMPARISON_COLUMNS) of several models' reports on one split, in the mapping's order."""
    frames = [
        per_class_frame(report).reset_index().assign(model=name, accuracy=report["accuracy"])
        for name, report in reports.items()
    ]
    return (
        pd.concat(frames, ignore_index=True)[COMPARISON_COLUMNS] if frames else pd.DataFrame(columns=COMPARISON_COLUMNS)
    )
