"""A .zip laid out as <split>/<class>/<image>, checked for bombs and unsafe names before anything is inflated."""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from emotion_core.data.layouts.base import Listing, Read, check_size
from emotion_core.data.layouts.tree import samples_from_names
from emotion_core.errors import DatasetLayoutError, InvalidImageError
from emotion_core.vision.decode import decode_image

NAME = "zip"
# Whole-archive limits, checked from the central directory when a zip is opened (nothing is inflated):
# FER2013's 35,887 JPEGs declare 63 MB and barely compress; a zip declaring gigabytes, or inflating to
# a hundred times its size, is a bomb (many members each under MAX_IMAGE_BYTES, or overlapping ones).
MAX_ARCHIVE_BYTES = 4 * 2**30
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_FROM_BYTES = 64 * 2**20  # small zips of flat synthetic images may compress well; harmless


def accepts(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def open(path: Path) -> Listing:  # noqa: A001  (the layout protocol's name)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
    except zipfile.BadZipFile:
        raise DatasetLayoutError(f"{path} is not a valid zip file") from None
    check_archive(infos, path)
    names = [i.filename for i in infos if safe_member_name(i.filename)]
    rejected = [(i.filename, "unsafe member name, ignored") for i in infos if not safe_member_name(i.filename)]
    return Listing(samples_from_names(names, path), ZipSource(path), rejected=rejected)


@dataclass(frozen=True)
class ZipSource:
    archive_path: Path

    @contextmanager
    def reading(self) -> Iterator[Read]:
        """One zip handle open while reading many members (re-opening per file is 10x slower)."""
        with zipfile.ZipFile(self.archive_path) as archive:
            yield lambda sample: read_member(archive, sample.ref)

    def decode(self, data: bytes, ref: str) -> np.ndarray:
        return decode_image(data)


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """A zip member's bytes, refusing members whose declared size is a zip bomb's before inflating them."""
    check_size(name, archive.getinfo(name).file_size)
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:  # bad CRC (a size that lied), corrupt stream
        raise InvalidImageError(f"{name}: corrupt zip member ({error})") from None
    except (NotImplementedError, RuntimeError) as error:  # unsupported compression, encrypted member
        raise InvalidImageError(f"{name}: cannot read zip member ({error})") from None


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


def safe_member_name(name: str) -> bool:
    """No absolute paths, drive letters or '..': never used as paths here, but never listed either."""
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts and not re.match(r"^[A-Za-z]:", name)
