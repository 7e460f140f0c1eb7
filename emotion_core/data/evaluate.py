"""Scoring: accuracy, per-class precision/recall/F1 and the confusion matrix over the classes the data has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
