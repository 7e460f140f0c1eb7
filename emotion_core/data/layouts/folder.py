"""A folder laid out as <split>/<class>/<image>."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_core.data.layouts.base import Listing, Read, Sample, check_size
from emotion_core.data.layouts.tree import samples_from_names
from emotion_core.vision.decode import decode_image

NAME = "folder"


def accepts(path: Path) -> bool:
    return path.is_dir()


def open(path: Path) -> Listing:  # noqa: A001  (the layout protocol's name)
    names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
    return Listing(samples_from_names(names, path), FolderSource(path))


@dataclass(frozen=True)
class FolderSource:
    root: Path

    @contextmanager
    def reading(self) -> Iterator[Read]:
        yield self._read

    def _read(self, sample: Sample) -> bytes:
        path = self.root / sample.ref
        check_size(sample.ref, path.stat().st_size)
        return path.read_bytes()

    def decode(self, data: bytes, ref: str) -> np.ndarray:
        return decode_image(data)
