"""Real-photo accuracy: the full photo path (decode, detect, crop, classify with the model's views) on photos of
people the model never saw, beside FER2013 test so no gain on photos hides a loss there.

    python benchmarks/real_faces.py [--model NAME_OR_PATH ...] [--sets tcfe yale fer2013] [--prior-power 0 1]

- tcfe: ../shared/data/tcfe/tcfe.zip, 974 posed studio photos of ~30 people (a measuring stick only).
- yale: the 20 labelled Yale photos (happy, sad, surprised, normal -> neutral).
- fer2013: FER2013's test split (3,589 48x48 crops, classified directly), scored on the original labels and on the
  FER+ plurality (ties, contempt, unknown and not-a-face left out).
Several ``--model``s score their ensemble: each face is detected and cropped once, and the models' calibrated
probabilities (each with its own class weights and views) are averaged. A photo with no face found counts as wrong.
``--prior-power`` also scores each set with the probabilities divided by the training label frequencies to that
power (logit adjustment; 0 is the model as it is). ``--save`` keeps the probabilities (``<set>_truth``,
``<set>_probabilities``, no-face rows NaN) for offline analysis. Ends with one JSON line. Figures only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.data.datasets import open_dataset  # noqa: E402
from emotion_core.data.evaluate import score  # noqa: E402
from emotion_core.data.votes import read_votes  # noqa: E402
from emotion_core.errors import EmotionCoreError  # noqa: E402
from emotion_core.labels import canonical_label  # noqa: E402
from emotion_core.paths import SHARED_DATA  # noqa: E402
from emotion_core.vision.decode import decode_image  # noqa: E402

TCFE = SHARED_DATA / "tcfe" / "tcfe.zip"
YALE = SHARED_DATA / "faces"
FER2013 = SHARED_DATA / "fer2013" / "fer2013.zip"
FERPLUS = SHARED_DATA / "fer2013" / "ferplus.csv"
YALE_EXPECTED = {"happy": "happy", "sad": "sad", "surprised": "surprise", "normal": "neutral"}


@dataclass
class Scored:
    """One set's true labels and probabilities; a photo with no face has a row of NaN (always wrong)."""

    name: str
    truth: np.ndarray  # label indices
    probabilities: np.ndarray  # (n, classes)
    seconds: float

    @property
    def found(self) -> int:
        return int((~np.isnan(self.probabilities[:, 0])).sum())


def photo_set(predictors: list[Predictor], name: str, photos: Iterator[tuple[bytes, str]]) -> Scored:
    """Largest face of each photo through the Predictor, exactly as the CLI and the Photo page run it.

    With several predictors the first one's detector finds the faces and each model classifies them through its
    own crop settings (``predict_boxes``): the mean of their probabilities is the ensemble's answer.
    """
    labels, truth, rows = predictors[0].labels, [], []
    started = time.perf_counter()
    for data, label in photos:
        truth.append(labels.index(label))
        try:
            image = decode_image(data)
            found = predictors[0].detector.detect(image)[:1]
            answers = [p.predict_boxes(image, found) for p in predictors] if found else []
        except EmotionCoreError:
            answers = []
        mean = np.mean([[faces[0].scores[c] for c in labels] for faces in answers], axis=0) if answers else None
        rows.append(mean if mean is not None else [np.nan] * len(labels))
    return Scored(name, np.array(truth), np.array(rows, np.float64), time.perf_counter() - started)


def tcfe_photos() -> Iterator[tuple[bytes, str]]:
    with zipfile.ZipFile(TCFE) as archive:
        for member in sorted(n for n in archive.namelist() if n.lower().endswith((".jpg", ".jpeg", ".png"))):
            yield archive.read(member), canonical_label(Path(member).parent.name)


def yale_photos() -> Iterator[tuple[bytes, str]]:
    for condition, label in YALE_EXPECTED.items():
        for photo in sorted(YALE.glob(f"*_{condition}.png")):
            yield photo.read_bytes(), label


def fer2013_sets(predictors: list[Predictor]) -> list[Scored]:
    """FER2013 test crops classified directly (they are already faces), on both label sets."""
    predictor, dataset = predictors[0], open_dataset(FER2013)
    samples = [s for s in dataset.split_samples("test") if s.label in predictor.labels]
    started = time.perf_counter()
    x, y, bad = dataset.load(samples, predictor.labels)
    probabilities = np.mean([p.classify_all(x, batch_size=512) for p in predictors], axis=0)
    seconds = time.perf_counter() - started
    broken = {ref for ref, _ in bad}
    refs = [s.ref for s in samples if s.ref not in broken]
    votes = read_votes(FERPLUS)
    plural = [votes.plurality(ref) for ref in refs]
    keep = np.array([p in predictor.labels for p in plural])
    ferplus_truth = np.array([predictor.labels.index(p) for p in plural if p in predictor.labels])
    return [
        Scored("fer2013", y, probabilities.astype(np.float64), seconds),
        Scored("fer2013+", ferplus_truth, probabilities[keep].astype(np.float64), seconds),
    ]


def training_prior(labels: list[str]) -> np.ndarray:
    """FER2013 train's class frequencies (folder labels), from the zip's listing alone."""
    counts = open_dataset(FER2013).counts()["train"]
    frequencies = np.array([counts.get(c, 0) for c in labels], np.float64)
    return frequencies / frequencies.sum()


def report(scored: Scored, labels: list[str], prior: np.ndarray, power: float) -> dict:
    """Metrics for one set; a photo with no face is predicted as an extra 'no face' class, so it is always wrong."""
    adjusted = scored.probabilities / prior**power
    no_face = np.isnan(adjusted[:, 0])
    predicted = np.where(no_face, len(labels), np.nan_to_num(adjusted, nan=0).argmax(axis=1))
    metrics = score(scored.truth, predicted, [*labels, "no face"])
    metrics.update(
        set=scored.name, prior_power=power, found=scored.found, faces_per_s=len(scored.truth) / scored.seconds
    )
    return metrics


def print_report(metrics: dict, labels: list[str]) -> None:
    recall = "  ".join(f"{c} {m['recall']:.2f}" for c, m in metrics["per_class"].items())
    print(
        f"\n{metrics['set']} (prior power {metrics['prior_power']}): accuracy {metrics['accuracy']:.4f} "
        f"of {metrics['n']}, faces found {metrics['found']}/{metrics['n']}\n  recall: {recall}"
    )
    print("  confusion (rows true, columns predicted " + " ".join(c[:3] for c in [*labels, "none"]) + "):")
    for name, row in zip(metrics["labels"], metrics["confusion"], strict=True):
        print(f"    {name:<9}" + "".join(f"{v:>5}" for v in row))


def markdown(rows: list[dict]) -> str:
    classes = rows[0]["confusion_columns"][:-1]  # the last column is "no face"
    lines = ["| set | prior | accuracy | found | " + " | ".join(classes) + " |"]
    lines.append("|---" * (4 + len(classes)) + "|")
    for m in rows:
        recalls = [f"{m['per_class'][c]['recall']:.2f}" if c in m["per_class"] else "" for c in classes]
        lines.append(
            f"| {m['set']} | {m['prior_power']} | {m['accuracy']:.4f} | {m['found']}/{m['n']} | "
            + " | ".join(recalls)
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        nargs="+",
        default=[None],
        help="registered name or run folder (default: the shipped model); "
        "several: their ensemble (mean of their calibrated probabilities)",
    )
    parser.add_argument("--sets", nargs="+", default=["tcfe", "yale", "fer2013"], choices=["tcfe", "yale", "fer2013"])
    parser.add_argument("--prior-power", type=float, nargs="+", default=[0.0])
    parser.add_argument(
        "--save", metavar="FILE.npz", help="also save each set's truth and probabilities, to re-weight offline"
    )
    args = parser.parse_args()

    predictors = [Predictor.load(model) for model in args.model]
    labels = predictors[0].labels
    if any(p.labels != labels for p in predictors):
        parser.error("an ensemble's models must share their classes, in the same order")
    name = " + ".join(p.card.name for p in predictors)
    for predictor in predictors:
        print(f"model {predictor.card.name}, views {predictor.views}")
    scored: list[Scored] = []
    if "tcfe" in args.sets:
        scored.append(photo_set(predictors, "tcfe", tcfe_photos()))
    if "yale" in args.sets:
        scored.append(photo_set(predictors, "yale", yale_photos()))
    if "fer2013" in args.sets:
        scored += fer2013_sets(predictors)
    prior = training_prior(labels)
    if args.save:
        arrays = {f"{s.name}_{part}": getattr(s, part) for s in scored for part in ("truth", "probabilities")}
        np.savez_compressed(args.save, labels=np.array(labels), **arrays)
    rows = [report(s, labels, prior, power) for power in args.prior_power for s in scored]
    for metrics in rows:
        print_report(metrics, labels)
    print("\n" + markdown(rows) + "\n")
    summary = [
        {k: metrics[k] for k in ("set", "prior_power", "accuracy", "n", "found")}
        | {"recall": {c: m["recall"] for c, m in metrics["per_class"].items()}}
        for metrics in rows
    ]
    print(json.dumps({"model": name, "results": summary}))


if __name__ == "__main__":
    main()
