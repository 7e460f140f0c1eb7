"""Keras against TFLite float32 / float16 / int8 for one model: file size, speed and (given data) accuracy.

    python benchmarks/tflite.py [--model NAME_OR_PATH] [--data PATH --split test] [--repeats 20]

The model folder is copied to a temporary folder and exported there (the original is left untouched).
faces_per_s = classification of a batch of 256 faces; single_ms = median of one-face calls, both through
Predictor.classify, as the app runs them. int8 calibrates on the run's training data when it still exists.
Prints a table, then one JSON line. Figures only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import median_ms  # noqa: E402

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.classify.registry import resolve_model  # noqa: E402
from emotion_core.classify.tflite import QUANTIZATIONS  # noqa: E402
from train.evaluate import evaluate  # noqa: E402
from train.export import export  # noqa: E402


def measure(path: Path, batch: np.ndarray, repeats: int, data: str | None, split: str) -> dict[str, object]:
    predictor = Predictor.load(path)
    row: dict[str, object] = {
        "faces_per_s": round(len(batch) / median_ms(lambda: predictor.classify(batch), repeats) * 1000, 1),
        "single_ms": round(median_ms(lambda: predictor.classify(batch[:1]), repeats * 5), 3),
    }
    if data:
        row["accuracy"] = evaluate(data, split, path)["accuracy"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="registered name or run folder (default: the shipped model)")
    parser.add_argument("--data", default=None, help="dataset for accuracy (folder, zip or fer2013.csv)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    source = resolve_model(args.model)
    batch = np.random.default_rng(0).integers(0, 256, (256, 48, 48, 1), dtype=np.uint8)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(shutil.copytree(source, Path(tmp) / source.name))
        results["keras"] = {
            "bytes": (run / "model.keras").stat().st_size,
            **measure(run, batch, args.repeats, args.data, args.split),
        }
        for quantize in QUANTIZATIONS:
            path = export(run, quantize)
            row = measure(path, batch, args.repeats, args.data, args.split)
            results[f"tflite-{'float32' if quantize == 'none' else quantize}"] = {"bytes": path.stat().st_size, **row}

    print(f"model {source} ({source.name}); batch of {len(batch)} for faces/s")
    print(f"{'runtime':<16} {'KiB':>8} {'faces/s':>9} {'1 face ms':>10} {'accuracy':>9}")
    for name, row in results.items():
        accuracy = f"{row['accuracy']:.4f}" if "accuracy" in row else "-"
        print(
            f"{name:<16} {row['bytes'] / 1024:>8.1f} {row['faces_per_s']:>9.0f} {row['single_ms']:>10.3f} {accuracy:>9}"
        )
    print(json.dumps({"model": str(source), "data": args.data, "split": args.split if args.data else None, **results}))


if __name__ == "__main__":
    main()
