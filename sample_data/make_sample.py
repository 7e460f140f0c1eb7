"""Regenerate sample_data/fer2013-sample/: a small, deterministic slice of FER2013's *train* split.

Both the sample's train/ and test/ folders are drawn from FER2013's train split, so nothing of FER's
own test split is copied into the repository. Run from the repo root:

    python sample_data/make_sample.py [--source ../shared/data/fer2013/fer2013.zip]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import zipfile
from collections import defaultdict
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a plain script, the package is beside this folder

from emotion_core.data.datasets import Dataset, open_dataset  # noqa: E402
from emotion_core.data.layouts.base import Sample  # noqa: E402

DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "fer2013" / "fer2013.zip"
DEFAULT_OUT = Path(__file__).resolve().parent / "fer2013-sample"


def pick(dataset: Dataset, per_class: int, seed: int) -> dict[str, list[Sample]]:
    """``per_class`` train samples per class, the same ones on every run (sorted, then a seeded draw)."""
    by_class: dict[str, list[Sample]] = defaultdict(list)
    for sample in dataset.split_samples("train"):
        by_class[sample.label].append(sample)
    rng = random.Random(seed)
    return {
        label: rng.sample(sorted(items, key=lambda s: s.ref), per_class) for label, items in sorted(by_class.items())
    }


def write_sample(source: Path, out: Path, train: int, test: int, seed: int) -> int:
    """Write out/train/<class>/*.jpg and out/test/<class>/*.jpg; returns the number of files written."""
    dataset = open_dataset(source)
    chosen = pick(dataset, train + test, seed)
    if out.exists():
        shutil.rmtree(out)
    archive = zipfile.ZipFile(source) if dataset.kind == "zip" else None
    written = 0
    for label, samples in chosen.items():
        for index, sample in enumerate(samples):
            split = "train" if index < train else "test"
            data = archive.read(sample.ref) if archive else (dataset.source / sample.ref).read_bytes()
            target = out / split / label / PurePosixPath(sample.ref).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written += 1
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", type=Path, default=DEFAULT_SOURCE, help="FER2013 zip or folder (train/<class>/*.jpg)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--train", type=int, default=40, help="images per class in the sample's train/")
    parser.add_argument("--test", type=int, default=10, help="images per class in the sample's test/")
    parser.add_argument("--seed", type=int, default=2013)
    args = parser.parse_args()
    count = write_sample(args.source, args.out, args.train, args.test, args.seed)
    print(f"wrote {count} images to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
