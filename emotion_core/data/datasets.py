"""One reader for emotion datasets: folder trees and zips laid out as <split>/<class>/<image>, and fer2013.csv.

Opening a dataset lists it (file names or CSV labels) without decoding any image, so FER2013's 32k
images are counted in about a second; pixels are decoded only for what is shown or trained on.
"""

from __future__ import annotations

import random
import re
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from emotion_core.data.photo_crops import FACE_MODES, PhotoCropper
from emotion_core.errors import DatasetLayoutError, EmotionCoreError, InvalidImageError
from emotion_core.formats import IMAGE_SUFFIXES
from emotion_core.labels import EMOTIONS, canonical_label, ordered_labels
from emotion_core.vision.align import INPUT_SIZE, to_model_input
from emotion_core.vision.decode import decode_image

# fer2013.csv's Usage column; PublicTest is what the zip calls "test".
CSV_SPLITS = {"training": "train", "publictest": "test", "privatetest": "private_test"}
# No face image is anywhere near this; a zip member claiming more is a zip bomb or not a dataset image.
MAX_IMAGE_BYTES = 50 * 2**20
# Whole-archive limits, checked from the central directory when a zip is opened (nothing is inflated):
# FER2013's 35,887 JPEGs declare 63 MB and barely compress; a zip declaring gigabytes, or inflating to
# a hundred times its size, is a bomb (many members each under MAX_IMAGE_BYTES, or overlapping ones).
MAX_ARCHIVE_BYTES = 4 * 2**30
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_FROM_BYTES = 64 * 2**20  # small zips of flat synthetic images may compress well; harmless
LAYOUT_HELP = "expected <split>/<class>/<image> (e.g. train/happy/001.jpg) or a fer2013.csv"

Progress = Callable[[int, int], None]  # (done, total)
AUTO_SAMPLE = 24  # images decoded to decide whether a dataset holds face crops or photos


@dataclass(frozen=True)
class Sample:
    split: str
    label: str  # canonical class name
    ref: str  # member path inside the zip/folder, or the CSV row number


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
    kind: str  # "folder" | "zip" | "csv"
    samples: list[Sample]
    _pixels: dict[str, str] = field(default_factory=dict, repr=False)  # CSV rows: ref -> pixel string
    # Entries left out of the listing, with why: CSV lines that are not a fer2013 row, zip members with
    # unsafe names ("../x", "/etc/x"). Decoding failures are reported by ``load`` instead.
    rejected: list[tuple[str, str]] = field(default_factory=list)

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
        with _Reader(self) as read:
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
        with _Reader(self) as read:
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
        return _csv_image(data.decode(), ref) if self.kind == "csv" else decode_image(data)

    def choose_faces(self, requested: str = "auto", size: int = INPUT_SIZE, sample: int = AUTO_SAMPLE) -> FaceChoice:
        """Resolve ``--faces``: 'auto' detects when sampled images are larger than the model input or not square."""
        if requested not in FACE_MODES:
            raise DatasetLayoutError(f"unknown faces mode '{requested}'; choose one of {', '.join(FACE_MODES)}")
        if requested != "auto":
            return FaceChoice(requested, requested, "as asked")
        if self.kind == "csv":
            return FaceChoice("crops", requested, "auto: a fer2013-style CSV holds face crops")
        picked = random.Random(0).sample(self.samples, min(sample, len(self.samples)))
        shapes = []
        with _Reader(self) as read:
            for s in picked:
                try:
                    shapes.append(decode_image(read(s)).shape[:2])
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


class _Reader:
    """Keeps one zip handle open while reading many members (re-opening per file is 10x slower)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.archive: zipfile.ZipFile | None = None

    def __enter__(self) -> Callable[[Sample], bytes]:
        """A sample's raw bytes: the file, the zip member, or a CSV row's pixel string."""
        if self.dataset.kind == "zip":
            archive = self.archive = zipfile.ZipFile(self.dataset.source)
            return lambda s: read_member(archive, s.ref)
        if self.dataset.kind == "csv":
            return lambda s: self.dataset._pixels[s.ref].encode()
        return self._read_file

    def _read_file(self, sample: Sample) -> bytes:
        path = self.dataset.source / sample.ref
        _check_size(sample.ref, path.stat().st_size)
        return path.read_bytes()

    def __exit__(self, *exc: object) -> None:
        if self.archive:
            self.archive.close()


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A zip member's bytes, refusing members whose declared size is a zip bomb's before inflating them."""
    _check_size(name, archive.getinfo(name).file_size)
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:  # bad CRC (a size that lied), corrupt stream
        raise InvalidImageError(f"{name}: corrupt zip member ({error})") from None
    except (NotImplementedError, RuntimeError) as error:  # unsupported compression, encrypted member
        raise InvalidImageError(f"{name}: cannot read zip member ({error})") from None


def _check_size(name: str, size: int) -> None:
    if size > MAX_IMAGE_BYTES:
        raise InvalidImageError(f"{name} is {size:,} bytes, over the {MAX_IMAGE_BYTES:,} allowed for one image")


def open_dataset(path: str | Path) -> Dataset:
    """List a dataset at ``path`` (folder, .zip or .csv); raises DatasetLayoutError naming the problem."""
    path = Path(path)
    if not path.exists():
        raise DatasetLayoutError(f"no such dataset path: {path}")
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
        return Dataset(path, "folder", _samples_from_names(names, path))
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                infos = [i for i in archive.infolist() if not i.is_dir()]
        except zipfile.BadZipFile:
            raise DatasetLayoutError(f"{path} is not a valid zip file") from None
        check_archive(infos, path)
        names = [i.filename for i in infos if _safe_member_name(i.filename)]
        rejected = [(i.filename, "unsafe member name, ignored") for i in infos if not _safe_member_name(i.filename)]
        return Dataset(path, "zip", _samples_from_names(names, path), rejected=rejected)
    if path.suffix.lower() == ".csv":
        return _open_csv(path)
    raise DatasetLayoutError(f"{path} is neither a folder, a .zip nor a .csv; {LAYOUT_HELP}")


def check_archive(infos: list[zipfile.ZipInfo], source: Path) -> None:
    """Refuse a zip whose declared sizes make it a bomb, from its central directory alone.

    Declared sizes are binding: Python's zipfile stops inflating a member at its declared size, so a
    member that lies about its size yields a short read (a CRC error), never more bytes.
    """
    declared = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if declared > MAX_ARCHIVE_BYTES:
        raise DatasetLayoutError(
            f"{source} declares {declared:,} bytes uncompressed, over the {MAX_ARCHIVE_BYTES:,} allowed for a "
            "dataset zip (a zip bomb?); use a folder for datasets this large"
        )
    if declared > RATIO_CHECK_FROM_BYTES and declared / packed > MAX_COMPRESSION_RATIO:
        raise DatasetLayoutError(
            f"{source} would inflate {declared / packed:,.0f}x ({packed:,} to {declared:,} bytes), over the "
            f"{MAX_COMPRESSION_RATIO}x allowed: a zip bomb, not a folder of images"
        )


def _safe_member_name(name: str) -> bool:
    """No absolute paths, drive letters or '..': never used as paths here, but never listed either."""
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts and not re.match(r"^[A-Za-z]:", name)


def _samples_from_names(names: Iterable[str], source: Path) -> list[Sample]:
    images = [
        PurePosixPath(n)
        for n in names
        if PurePosixPath(n).suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(n).parts)
    ]
    if not images:
        raise DatasetLayoutError(f"no images found in {source}; {LAYOUT_HELP}")
    parts = _strip_common_root([p.parts for p in images])
    samples = [
        Sample(p[0], canonical_label(p[1]), str(name)) for p, name in zip(parts, images, strict=True) if len(p) == 3
    ]
    if not samples:
        depth = Counter(len(p) for p in parts).most_common(1)[0][0] - 1
        raise DatasetLayoutError(f"images in {source} sit {depth} folder(s) deep; {LAYOUT_HELP}")
    top = {s.split for s in samples}
    if top & set(EMOTIONS):
        raise DatasetLayoutError(
            f"{source} has class folders ({', '.join(sorted(top & set(EMOTIONS)))}) where splits belong; {LAYOUT_HELP}"
        )
    return samples


def _strip_common_root(parts: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Drop wrapper folders that every image shares (e.g. fer2013/train/...)."""
    prefix = 0
    while all(len(p) > prefix + 3 for p in parts) and len({p[prefix] for p in parts}) == 1:
        prefix += 1
    return [p[prefix:] for p in parts]


def _open_csv(path: Path) -> Dataset:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # Rows with too many fields are skipped with a warning naming their line, not fatal to the file.
            frame = pd.read_csv(path, dtype=str, on_bad_lines="warn", skip_blank_lines=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DatasetLayoutError(f"cannot read {path} as CSV: {str(error).splitlines()[0]}") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if not {"emotion", "pixels"} <= set(frame.columns):
        raise DatasetLayoutError(f"{path} lacks the columns emotion,pixels[,Usage] of fer2013.csv")
    skipped = _skipped_lines(caught)
    rejected = [(str(line), f"CSV line {line}: {why}") for line, why in skipped.items()]
    lines = (n for n in range(2, 2 + len(frame) + len(skipped)) if n not in skipped)
    usage = frame["usage"] if "usage" in frame.columns else pd.Series("Training", index=frame.index)
    samples, pixels = [], {}
    for row, emotion, pix, use in zip(lines, frame["emotion"], frame["pixels"], usage, strict=True):
        ref = str(row)  # the line number in the file, so errors point at it
        label = _csv_label(emotion)
        if label is None:
            rejected.append((ref, f"CSV line {row}: emotion {emotion!r} is not 0-{len(EMOTIONS) - 1} nor a class name"))
            continue
        if not isinstance(use, str) or not use.strip():
            rejected.append((ref, f"CSV line {row}: no Usage (Training, PublicTest or PrivateTest)"))
            continue
        split = CSV_SPLITS.get(use.strip().lower(), use.strip().lower())
        samples.append(Sample(split, label, ref))
        pixels[ref] = pix if isinstance(pix, str) else ""
    if not samples:
        raise DatasetLayoutError(f"{path} has no usable rows" + (f" ({rejected[0][1]})" if rejected else ""))
    return Dataset(path, "csv", samples, pixels, sorted(rejected, key=lambda r: int(r[0])))


def _skipped_lines(caught: list[warnings.WarningMessage]) -> dict[int, str]:
    """Line -> reason from pandas' 'Skipping line 7: expected 3 fields, saw 4' warnings."""
    text = "\n".join(str(w.message) for w in caught if issubclass(w.category, pd.errors.ParserWarning))
    return {int(m[1]): m[2].strip() for m in re.finditer(r"Skipping line (\d+): ([^\n]*)", text)}


def _csv_label(value: object) -> str | None:
    """A row's class from its emotion code (0-6) or a known class name; None when it is neither."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return EMOTIONS[int(text)] if int(text) < len(EMOTIONS) else None
    label = canonical_label(text)
    return label if label in EMOTIONS else None


def _csv_image(pixels: str, ref: str) -> np.ndarray:
    """A CSV row's pixel string as its square grey image."""
    try:
        values = np.array(pixels.split(), dtype=np.float32) if pixels else np.empty(0, np.float32)
    except ValueError:  # a non-numeric value among the pixels
        values = np.empty(0, np.float32)
    side = int(round(np.sqrt(values.size)))
    if values.size == 0 or side * side != values.size or values.min() < 0 or values.max() > 255:
        raise EmotionCoreError(f"CSV line {ref}: pixels are not a square grey image of 0-255 values")
    return values.reshape(side, side).astype(np.uint8)
