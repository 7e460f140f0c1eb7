"""How often the model names the posed expression on the shared Yale photos (real photos, not FER2013 crops).

    python benchmarks/faces_accuracy.py [--model NAME_OR_PATH] [--margin M ...]

Uses the happy, sad, surprised and normal photos of the 5 people (20 photos); the other conditions
(sleepy, wink, glasses, lighting) have no single expected emotion. ``--margin`` compares face-crop
margins (default: the model's own). Prints a table per margin, then one JSON line. Figures only.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.paths import SHARED_DATA  # noqa: E402
from emotion_core.vision.align import faces_to_batch  # noqa: E402
from emotion_core.vision.decode import read_image  # noqa: E402

FACES = SHARED_DATA / "faces"
EXPECTED = {"happy": "happy", "sad": "sad", "surprised": "surprise", "normal": "neutral"}


def score_photos(predictor: Predictor, margin: float) -> dict:
    config = replace(predictor.preprocess_config, margin=margin)
    hits: dict[str, list[str]] = {condition: [] for condition in EXPECTED}
    for condition in EXPECTED:
        for photo in sorted(FACES.glob(f"*_{condition}.png")):
            image = read_image(photo)
            boxes = predictor.detector.detect(image)[:1]
            probabilities = predictor.classify(faces_to_batch(image, boxes, config))
            predicted = predictor.labels[int(probabilities[0].argmax())] if len(boxes) else "no face"
            hits[condition].append(predicted)
    correct = {c: sum(p == EXPECTED[c] for p in predictions) for c, predictions in hits.items()}
    total = sum(map(len, hits.values()))
    return {
        "margin": margin,
        "correct": sum(correct.values()),
        "of": total,
        "per_condition": correct,
        "predictions": hits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--margin", type=float, nargs="*", default=None)
    args = parser.parse_args()
    predictor = Predictor.load(args.model)
    margins = args.margin or [predictor.preprocess_config.margin]
    rows = [score_photos(predictor, m) for m in margins]
    for row in rows:
        print(f"margin {row['margin']}: {row['correct']}/{row['of']} right")
        for condition, predictions in row["predictions"].items():
            print(f"  {condition:<10} {row['per_condition'][condition]}/{len(predictions)}  {', '.join(predictions)}")
    print(json.dumps([{k: v for k, v in row.items() if k != "predictions"} for row in rows]))


if __name__ == "__main__":
    main()
