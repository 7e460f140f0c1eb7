"""What a batch job reads: INPUT arguments (folders, zips, globs, image and video files) as a stream of work units.

Nothing here holds the whole input in memory: folders are walked and zips listed lazily, video frames are
decoded one at a time. A path that cannot be read becomes an error unit (one output row), never an exception
that stops the job. No TensorFlow is imported here.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from emotion_core.data.layouts.base import MAX_IMAGE_BYTES
from emotion_core.data.layouts.zip_archive import check_archive, read_member, safe_member_name
from emotion_core.errors import EmotionCoreError, InvalidImageError
from emotion_core.formats import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from emotion_core.vision.decode import decode_image

logger = logging.getLogger(__name__)

ZIP_SEPARATOR = "::"  # a zip member's source name: "<zip path>::<member>"
IMAGE_FRAME = -1  # the frame key of a still image in the resume index (its row leaves frame empty)


@dataclass(frozen=True)
class Item:
    """One input file (image, video) or zip member, or an input that failed before any decoding."""

    source: str  # the name rows carry: the path as found, or "<zip>::<member>"
    kind: str  # image | video | error
    path: str
    member: str | None = None  # the zip member, for images inside a zip
    error: str | None = None


@dataclass(frozen=True)
class Unit:
    """One thing to detect faces in: a still image (decoded by a worker) or a video frame (already decoded)."""

    item: Item
    frame: int | None = None
    time_s: float | None = None
    image: np.ndarray | None = None  # set for video frames; images are decoded in the worker thread
    error: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.item.source, IMAGE_FRAME if self.frame is None else self.frame


def iter_items(inputs: Iterable[str]) -> Iterator[Item]:
    """Every item named by ``inputs``, in order: folders walked (sorted, recursively), zips listed, globs expanded."""
    for given in inputs:
        path = Path(given)
        if not path.exists() and glob.has_magic(given):
            matches = sorted(glob.iglob(given, recursive=True))
            if not matches:
                yield Item(given, "error", given, error="no file matches this pattern")
            for match in matches:
                yield from _items_of(Path(match), named=False)
        else:
            yield from _items_of(path, named=True)


def _items_of(path: Path, named: bool) -> Iterator[Item]:
    """A path's items. A file named on the command line is tried as an image whatever its suffix (decode by
    content); inside folders, only image, video and zip suffixes are read (a README is not an error)."""
    source = str(path)
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__MACOSX")))
            for name in sorted(f for f in files if not f.startswith(".")):
                yield from _items_of(Path(root) / name, named=False)
        return
    if not path.exists():
        yield Item(source, "error", source, error=f"no such file or folder: {path}")
        return
    suffix = path.suffix.lower()
    if suffix == ".zip":
        yield from _zip_items(path)
    elif suffix in VIDEO_SUFFIXES:
        yield Item(source, "video", source)
    elif suffix in IMAGE_SUFFIXES or named:
        yield Item(source, "image", source)


def _zip_items(path: Path) -> Iterator[Item]:
    source = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
        check_archive(infos, path)
    except (zipfile.BadZipFile, OSError) as error:
        yield Item(source, "error", source, error=f"not a readable zip file: {error}")
        return
    except EmotionCoreError as error:
        yield Item(source, "error", source, error=str(error))
        return
    for info in infos:
        name = PurePosixPath(info.filename)
        hidden = any(part.startswith((".", "__MACOSX")) for part in name.parts)
        if name.suffix.lower() in IMAGE_SUFFIXES and not hidden:
            member_source = f"{source}{ZIP_SEPARATOR}{info.filename}"
            if safe_member_name(info.filename):
                yield Item(member_source, "image", source, member=info.filename)
            else:
                yield Item(member_source, "error", source, info.filename, "unsafe member name, not read")


def iter_units(
    items: Iterable[Item], every: int, done: set[tuple[str, int]], resumed: dict[str, int] | None = None
) -> Iterator[Unit]:
    """Units not yet in ``done``: one per image or error item, one per ``every``-th frame of each video.

    Video frames are decoded here, in the producing thread (a capture is sequential anyway), from the first
    frame not yet done: a rerun seeks past what an earlier run wrote (recorded in ``resumed``, source -> frame).
    A video that cannot be decoded at all is one error unit.
    """
    for item in items:
        if item.kind != "video":
            unit = Unit(item, error=item.error)
            if unit.key not in done:
                yield unit
            continue
        start = resume_frame(item.source, every, done)
        if start and resumed is not None:
            resumed[item.source] = start
        yield from video_units(item, every, done, start)


def resume_frame(source: str, every: int, done: set[tuple[str, int]]) -> int:
    """The first sampled frame of ``source`` not in ``done``: where a rerun starts decoding it."""
    frame = 0
    while (source, frame) in done:
        frame += every
    return frame


def video_units(
    item: Item, every: int, done: set[tuple[str, int]], start: int = 0, stop: int | None = None
) -> Iterator[Unit]:
    """The units of frames ``start`` (sampled) to ``stop`` of a video, less those in ``done``."""
    from emotion_core.live.video import iter_frames

    try:
        for index, time_s, frame in iter_frames(item.path, every, start, stop):
            if (item.source, index) not in done:
                yield Unit(item, index, time_s, frame)
    except EmotionCoreError as error:
        unit = Unit(item, error=str(error))
        if unit.key not in done:
            yield unit


def count_units(items: Iterable[Item], every: int) -> int:
    """How many units a job has (video frames from the container header): the progress bar's total."""
    from emotion_core.live.video import probe

    total = 0
    for item in items:
        if item.kind != "video":
            total += 1
            continue
        try:
            total += max(1, -(-probe(item.path).frames // every))
        except EmotionCoreError:
            total += 1
    return total


class ImageReader:
    """Reads an image unit's bytes and decodes them; one open zip handle per thread (re-opening costs 10x)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def decode(self, item: Item) -> np.ndarray:
        return decode_image(self.read_bytes(item))

    def read_bytes(self, item: Item) -> bytes:
        if item.member is not None:
            return read_member(self._archive(item.path), item.member)
        path = Path(item.path)
        try:
            size = path.stat().st_size
            if size > MAX_IMAGE_BYTES:
                raise InvalidImageError(f"{size:,} bytes, over the {MAX_IMAGE_BYTES:,} allowed for one image")
            return path.read_bytes()
        except OSError as error:
            raise InvalidImageError(f"cannot read: {error.strerror or error}") from None

    def _archive(self, path: str) -> zipfile.ZipFile:
        cached = getattr(self._local, "archive", None)
        if cached is None or cached[0] != path:
            if cached is not None:
                cached[1].close()
            try:
                self._local.archive = (path, zipfile.ZipFile(path))
            except (zipfile.BadZipFile, OSError) as error:
                raise InvalidImageError(f"cannot open zip: {error}") from None
        return self._local.archive[1]
