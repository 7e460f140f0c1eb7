"""Test-time views: accuracy of one model with no views, the mirror image, and mirror + zoomed views.

    python benchmarks/views.py [--model NAME_OR_PATH] --data PATH [--split test] [--zooms 0.05 0.1 0.15]

Each distinct view of every face is classified once and the combinations are averaged from those
probabilities, so the figures differ only in which views are pooled. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.classify.views import TestTimeViews  # noqa: E402
from emotion_core.data.datasets import open_dataset  # noqa: E402


def per_view_probabilities(
    predictor: Predictor, x: np.ndarray, zooms: list[float]
) -> dict[tuple[bool, float], np.ndarray]:
    """(mirrored, zoom) -> probabilities of that single view."""
    out = {}
    for zoom in sorted({1.0, *zooms}):
        predictor.views = TestTimeViews(mirror=False, zooms=(zoom,))
        out[(False, zoom)] = predictor.classify_all(x)
        out[(True, zoom)] = predictor.classify_all(x[:, :, ::-1].copy())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="registered name or run folder (default: the shipped model)")
    parser.add_argument("--data", required=True, help="dataset (folder, zip or fer2013.csv)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--zooms", type=float, nargs="+", default=[0.05, 0.1, 0.15], help="zoom fractions to try")
    args = parser.parse_args()

    predictor = Predictor.load(args.model)
    labels = predictor.labels
    dataset = open_dataset(args.data)
    x, y, _ = dataset.load(dataset.split_samples(args.split), labels)
    scales = [s for z in args.zooms for s in (1 - z, 1 + z)]
    views = per_view_probabilities(predictor, x, scales)

    def accuracy(keys: list[tuple[bool, float]]) -> float:
        return round(float((np.mean([views[k] for k in keys], axis=0).argmax(axis=1) == y).mean()), 4)

    rows = {"plain": accuracy([(False, 1.0)]), "mirror": accuracy([(False, 1.0), (True, 1.0)])}
    for z in args.zooms:
        rows[f"mirror + zoom {z:g}"] = accuracy([(m, s) for m in (False, True) for s in (1 - z, 1.0, 1 + z)])
    print(f"model {predictor.card.name} on {args.split} ({len(y)} faces)")
    for name, value in rows.items():
        print(f"{name:<22} {value:.4f}")
    print(json.dumps({"model": predictor.card.name, "n": len(y), **rows}))


if __name__ == "__main__":
    main()
