"""The accuracy table of the README: one model on a test split, per class, plus the posed Yale photos.

    python benchmarks/accuracy.py [--model NAME_OR_PATH] [--data PATH] [--split test]

Evaluates exactly as ``python -m train evaluate`` does (the model's own test-time views), prints the
per-class table as Markdown (pasted into the README unchanged), the Yale photo score, then one JSON line.
Figures only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from faces_accuracy import score_photos  # noqa: E402

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.paths import SHARED_DATA  # noqa: E402
from train.evaluate import evaluate  # noqa: E402

FER2013 = SHARED_DATA / "fer2013" / "fer2013.zip"


def markdown_table(report: dict) -> str:
    lines = ["| class | precision | recall | F1 | faces |", "|---|---|---|---|---|"]
    for name, m in report["per_class"].items():
        lines.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']:,} |")
    lines.append(f"| **all** | | **{report['accuracy']:.4f}** | | {report['n']:,} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="registered name or run folder (default: the shipped model)")
    parser.add_argument("--data", default=str(FER2013), help="dataset (default: ../shared FER2013 zip)")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()

    predictor = Predictor.load(args.model)
    report = evaluate(args.data, args.split, args.model)
    photos = score_photos(predictor, predictor.preprocess_config.margin)
    yale = ", ".join(f"{c} {n}/5" for c, n in photos["per_condition"].items())

    print(f"model {report['model']} on {args.split} of {args.data}, test-time views: {predictor.views}\n")
    print(markdown_table(report))
    print(f"\nYale photos: {photos['correct']}/{photos['of']} ({yale})")
    recall = {name: m["recall"] for name, m in report["per_class"].items()}
    summary = {"model": report["model"], "accuracy": report["accuracy"], "n": report["n"], "recall": recall}
    print(json.dumps({**summary, "views": predictor.views.count, "yale": photos["per_condition"]}))


if __name__ == "__main__":
    main()
