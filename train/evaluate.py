"""``python -m train evaluate``: score a model on one split of a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emotion_core.classify.predictor import Predictor
from emotion_core.data.evaluate import Evaluation, evaluate_predictor
from emotion_core.data.person_splits import PersonSplit


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
    """Like ``evaluate`` but keeps each sample's probabilities (emotion_core.data.evaluate.evaluate_predictor)."""
    predictor = Predictor.load(model)  # a .tflite path runs the export; the card's views and weights apply
    evaluation = evaluate_predictor(predictor, data, split, faces, people)
    evaluation.report["model"] = evaluation.report["model"] or str(model)
    return evaluation


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
