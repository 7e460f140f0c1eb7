"""Dataset exploration for the Dataset page: where the data is, class balance, sample faces, unreadable files,
and for datasets of photos the crop detection makes of each and the photos without a face.

Everything here works from a Dataset's listing except what must decode (sample faces, the scan for
unreadable files), which is bounded or reports progress.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd

from emotion_core.data.datasets import Dataset, Progress
from emotion_core.data.photo_crops import PhotoCropper
from emotion_core.files import file_version

Unreadable = tuple[str, str]  # (file, one-line reason)


data_version = file_version  # a dataset's cache key: the same rule as a model's (registry.model_version)


def distribution(counts: pd.DataFrame) -> pd.DataFrame:
    """Dataset.counts() (class x split) as long rows (split, class, images) for charts."""
    long = counts.reset_index().melt(id_vars="class", var_name="split", value_name="images")
    return long[["split", "class", "images"]]


def imbalance_ratios(counts: pd.DataFrame) -> dict[str, float]:
    """Per split: largest class over smallest (inf when a class has no images in that split)."""
    ratios = {}
    for split in counts.columns:
        column = counts[split]
        ratios[split] = float(column.max() / column.min()) if column.min() else float("inf")
    return ratios


def sample_faces(
    dataset: Dataset, split: str, label: str, count: int, seed: int
) -> tuple[list[tuple[str, np.ndarray]], list[Unreadable]]:
    """Up to ``count`` random faces of one class as (file, 48x48 image), plus the files that failed to decode."""
    candidates = [s for s in dataset.split_samples(split) if s.label == label]
    chosen = random.Random(seed).sample(candidates, min(count, len(candidates)))
    x, _, bad = dataset.load(chosen, [label])  # one open zip for all of them
    failed = {ref for ref, _ in bad}
    refs = [s.ref for s in chosen if s.ref not in failed]  # load() keeps the readable ones, in order
    return [(ref, face[:, :, 0]) for ref, face in zip(refs, x, strict=True)], bad


@dataclass(frozen=True)
class PhotoSample:
    """A sampled photo beside the crop the model is given (None: no face was found in it)."""

    ref: str
    photo: np.ndarray  # BGR or grey, as stored
    face: np.ndarray | None  # 48x48 model input


@dataclass
class FaceScan:
    """What decoding (and detecting in) a split found: files that would not become model inputs."""

    unreadable: list[Unreadable] = field(default_factory=list)
    no_face: list[str] = field(default_factory=list)
    several: list[tuple[str, int]] = field(default_factory=list)  # (file, faces found)


def sample_photos(
    dataset: Dataset, split: str, label: str, count: int, seed: int, cropper: PhotoCropper
) -> tuple[list[PhotoSample], list[Unreadable]]:
    """Up to ``count`` random photos of one class with the face crop detection makes of each (same draw as
    ``sample_faces``), plus the files that failed to decode."""
    candidates = [s for s in dataset.split_samples(split) if s.label == label]
    chosen = random.Random(seed).sample(candidates, min(count, len(candidates)))
    loaded = dataset.load_faces(chosen, [label], cropper)
    crops = dict(zip(loaded.refs, loaded.x[:, :, :, 0], strict=True))
    failed = {ref for ref, _ in loaded.bad}
    shown = [PhotoSample(s.ref, dataset.read_image(s), crops.get(s.ref)) for s in chosen if s.ref not in failed]
    return shown, loaded.bad


def side_by_side(sample: PhotoSample, height: int = 120) -> np.ndarray:
    """The photo scaled to ``height`` with its crop (or a dark 'no face' square) beside it, as one RGB image."""
    photo = cv2.cvtColor(sample.photo, cv2.COLOR_GRAY2RGB) if sample.photo.ndim == 2 else sample.photo[:, :, ::-1]
    width = max(1, round(photo.shape[1] * height / photo.shape[0]))
    photo = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    if sample.face is None:
        crop: np.ndarray = np.full((height, height, 3), 40, np.uint8)
        cv2.putText(crop, "no face", (8, height // 2), cv2.FONT_HERSHEY_SIMPLEX, height / 300, (255, 255, 255), 1)
    else:
        crop = cv2.cvtColor(
            cv2.resize(sample.face, (height, height), interpolation=cv2.INTER_NEAREST), cv2.COLOR_GRAY2RGB
        )
    gap = np.full((height, 4, 3), 255, np.uint8)
    return np.ascontiguousarray(np.hstack([photo, gap, crop]))


def scan_split(
    dataset: Dataset, split: str, cropper: PhotoCropper | None, progress: Progress | None = None, chunk: int = 500
) -> FaceScan:
    """Decode (and, with a cropper, detect in) a whole split; chunked so memory stays small and progress moves."""
    samples = dataset.split_samples(split)
    scan = FaceScan()
    for start in range(0, len(samples), chunk):
        if progress:
            progress(start, len(samples))
        loaded = dataset.load_faces(samples[start : start + chunk], dataset.classes, cropper)
        scan.unreadable += loaded.bad
        scan.no_face += [s.ref for s in loaded.no_face]
        scan.several += loaded.several
    if progress:
        progress(len(samples), len(samples))
    return scan
