"""Image trees laid out as <split>/<class>/<image>: the samples a list of file names describes (folders, zips)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from emotion_core.data.layouts.base import LAYOUT_HELP, Sample
from emotion_core.errors import DatasetLayoutError
from emotion_core.formats import IMAGE_SUFFIXES
from emotion_core.labels import EMOTIONS, canonical_label


def samples_from_names(names: Iterable[str], source: Path) -> list[Sample]:
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
