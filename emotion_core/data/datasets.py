"""One reader for emotion datasets in any known layout (emotion_core.data.layouts): folder trees and zips laid
out as <split>/<class>/<image>, and fer2013.csv.

Opening a dataset lists it (file names or CSV labels) without decoding any image, so FER2013's 32k
images are counted in about a second; pixels are decoded only for what is shown or trained on.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emotion_core.data.layouts import LAYOUTS
from emotion_core.data.layouts.base import LAYOUT_HELP, Sample, SampleSource
from emotion_core.data.photo_crops import FACE_MODES, PhotoCropper
from emotion_core.errors import DatasetLayoutError, EmotionCoreError
from emotion_core.labels import ordered_labels
from emotion_core.vision.align import INPUT_SIZE, to_model_input

Progress = Callable[[int, int], None]  # (done, total)
AUTO_SAMPLE = 24  # images decoded to decide whether a dataset holds face crops or photos


@dataclass(frozen=True)
class FaceChoice:
    """Whether a dataset's images are used as face crops or go through face detection first, and why."""

    mode: str  # "crops" | "detect"
    requested: str  # "auto" | "crops" | "detect"
    reason: str

    def __str__(self) -> str:
        return f"{self.mode} ({self.reason})"


@dataclass
class Loaded:
    """Decoded samples as model inputs, plus every sample that did not become one, and why."""

    x: np.ndarray  # (n, 48, 48, 1) uint8
    y: np.ndarray  # class index into the labels asked for
    refs: list[str]  # file (or CSV line) of each row of x
    bad: list[tuple[str, str]]  # unreadable: (ref, error)
    no_face: list[Sample] = field(default_factory=list)  # photos where detection found no face
    several: list[tuple[str, int]] = field(default_factory=list)  # (ref, faces found): the largest was used


@dataclass
class Dataset:
    source: Path
    kind: str  # the layout's name: "folder" | "zip" | "csv" (emotion_core.data.layouts)
    samples: list[Sample]
    reader: SampleSource = field(repr=False)
    # Entries left out of the listing, with why: CSV lines that are not a fer2013 row, zip members with
    # unsafe names ("../x", "/etc/x"). Decoding failures are reported by ``load`` instead.
    rejected: list[tuple[str, str]] = field(default_factory=list)
    crops_only: bool = False  # every image is a face crop already (fer2013.csv)

    @property
    def splits(self) -> list[str]:
        order = {"train": 0, "val": 1, "validation": 1, "test": 2}
        return sorted({s.split for s in self.samples}, key=lambda s: (order.get(s, 3), s))

    @property
    def classes(self) -> list[str]:
        return ordered_labels({s.label for s in self.samples})

    def counts(self) -> pd.DataFrame:
        """Images per split (columns) and class (rows), from the listing alone."""
        table = Counter((s.label, s.split) for s in self.samples)
        frame = pd.DataFrame(
            [[table.get((c, sp), 0) for sp in self.splits] for c in self.classes],
            index=pd.Index(self.classes, name="class"),
            columns=self.splits,
        )
        return frame

    def split_samples(self, split: str) -> list[Sample]:
        chosen = [s for s in self.samples if s.split == split]
        if not chosen:
            raise DatasetLayoutError(f"{self.source} has no split '{split}'; it has: {', '.join(self.splits)}")
        return chosen

    def read_image(self, sample: Sample) -> np.ndarray:
        """One sample decoded as stored (a whole photo, or a crop), BGR or grey uint8, for showing it."""
        with self.reader.reading() as read:
            return self._decode(read(sample), sample.ref)

    def load(
        self, samples: list[Sample], labels: list[str], progress: Progress | None = None
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
        """Decode samples into (x uint8 n x 48 x 48 x 1, y int index into ``labels``, bad [(ref, error)]).

        Broken files are reported and skipped so one bad image never stops a training run.
        """
        loaded = self.load_faces(samples, labels, None, progress)
        return loaded.x, loaded.y, loaded.bad

    def load_faces(
        self,
        samples: list[Sample],
        labels: list[str],
        cropper: PhotoCropper | None = None,
        progress: Progress | None = None,
    ) -> Loaded:
        """Like ``load``; with a ``cropper`` each image is a photo whose largest face becomes the input.

        Photos without a face and photos with several are listed in the result, never silently dropped.
        """
        index = {name: i for i, name in enumerate(labels)}
        size = cropper.config.size if cropper else INPUT_SIZE
        x = np.empty((len(samples), size, size, 1), dtype=np.uint8)
        out = Loaded(x, np.empty(len(samples), dtype=np.int64), [], [])
        with self.reader.reading() as read:
            for i, sample in enumerate(samples):
                if progress and i % 500 == 0:
                    progress(i, len(samples))
                if sample.label in index and self._load_one(sample, read, cropper, out):
                    out.y[len(out.refs) - 1] = index[sample.label]
        if progress:
            progress(len(samples), len(samples))
        out.x, out.y = x[: len(out.refs)], out.y[: len(out.refs)]
        return out

    def _load_one(
        self, sample: Sample, read: Callable[[Sample], bytes], cropper: PhotoCropper | None, out: Loaded
    ) -> bool:
        """Decode one sample into ``out``: a row of x (True), or an entry in bad / no_face (False)."""
        try:
            data = read(sample)
            if cropper is None:
                face = to_model_input(self._decode(data, sample.ref))
            else:
                crop = cropper(data, lambda b: self._decode(b, sample.ref))
                if crop.face is None:
                    out.no_face.append(sample)
                    return False
                if crop.faces > 1:
                    out.several.append((sample.ref, crop.faces))
                face = crop.face
        except (EmotionCoreError, OSError, KeyError) as error:
            out.bad.append((sample.ref, str(error)))
            return False
        out.x[len(out.refs), :, :, 0] = face
        out.refs.append(sample.ref)
        return True

    def _decode(self, data: bytes, ref: str) -> np.ndarray:
        return self.reader.decode(data, ref)

    def choose_faces(self, requested: str = "auto", size: int = INPUT_SIZE, sample: int = AUTO_SAMPLE) -> FaceChoice:
        """Resolve ``--faces``: 'auto' detects when sampled images are larger than the model input or not square."""
        if requested not in FACE_MODES:
            raise DatasetLayoutError(f"unknown faces mode '{requested}'; choose one of {', '.join(FACE_MODES)}")
        if requested != "auto":
            return FaceChoice(requested, requested, "as asked")
        if self.crops_only:
            return FaceChoice("crops", requested, f"auto: a {self.kind} dataset holds face crops")
        picked = random.Random(0).sample(self.samples, min(sample, len(self.samples)))
        shapes = []
        with self.reader.reading() as read:
            for s in picked:
                try:
                    shapes.append(self._decode(read(s), s.ref).shape[:2])
                except (EmotionCoreError, OSError, KeyError):
                    continue
        photos = sum(1 for h, w in shapes if h != w or h > size)
        if photos:
            why = f"auto: {photos} of {len(shapes)} sampled images are larger than {size}x{size} or not square"
            return FaceChoice("detect", requested, why)
        return FaceChoice("crops", requested, f"auto: all {len(shapes)} sampled images are square, at most {size}px")


def carve_split(samples: list[Sample], fraction: float, seed: int, name: str = "val") -> list[Sample]:
    """Move a stratified ``fraction`` of each class into split ``name``, the same samples for the same seed.

    Choosing settings on the test split overfits to it; a validation split carved from train keeps the
    test split for the one final figure.
    """
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = {}
    for i, sample in enumerate(samples):
        by_class.setdefault(sample.label, []).append(i)
    chosen: set[int] = set()
    for label in sorted(by_class):
        indices = by_class[label]
        chosen.update(rng.permutation(indices)[: int(round(fraction * len(indices)))].tolist())
    return [Sample(name, s.label, s.ref) if i in chosen else s for i, s in enumerate(samples)]


def open_dataset(path: str | Path) -> Dataset:
    """List a dataset at ``path`` with the first layout that accepts it; DatasetLayoutError naming the problem."""
    path = Path(path)
    if not path.exists():
        raise DatasetLayoutError(f"no such dataset path: {path}")
    for layout in LAYOUTS:
        if layout.accepts(path):
            listing = layout.open(path)
            return Dataset(path, layout.NAME, listing.samples, listing.source, listing.rejected, listing.crops_only)
    known = ", ".join(layout.NAME for layout in LAYOUTS)
    raise DatasetLayoutError(f"{path} is none of the dataset layouts known ({known}); {LAYOUT_HELP}")
