"""Teacher answers computed once and kept: a six-view VGG pass over FER2013 takes 15-20 minutes on 2 cores, and
every distillation run (and every resume) needs the same numbers.

Answers live in ``~/.cache/emotion-dashboard/teacher-targets/`` (private to the user), one ``.npz`` per key. The key
covers everything that shapes them: the teacher's weights and views and the exact faces asked about. Work goes in
chunks saved as they finish, so a killed run resumes at its last chunk; each chunk logs its rate and the time left
(the Train page shows those lines).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emotion_core.storage import user_cache
from train.teachers import Teacher

logger = logging.getLogger(__name__)

VERSION = "1"  # bump when what a cache holds changes
CACHE_NAME = "teacher-targets"

Arrays = dict[str, np.ndarray]


def cache_key(*parts: object) -> str:
    return hashlib.sha256("\n".join(map(str, (VERSION, *parts))).encode()).hexdigest()[:16]


def cached_answers(teacher: Teacher, faces: np.ndarray, chunk: int = 2048, cache: Path | None = None) -> np.ndarray:
    """``teacher.probabilities(faces)``, read from the cache when these faces were asked before."""
    if len(faces) == 0:
        return np.zeros((0, len(teacher.labels)), np.float32)
    key = cache_key(teacher.key, hashlib.sha256(np.ascontiguousarray(faces).tobytes()).hexdigest(), faces.shape)
    target = (cache or user_cache(CACHE_NAME)) / f"{key}.npz"
    answers = chunked(
        target, len(faces), chunk, lambda start, stop: {"p": teacher.probabilities(faces[start:stop])}, teacher.name
    )
    return answers["p"]


def chunked(target: Path, total: int, chunk: int, compute: Callable[[int, int], Arrays], name: str) -> Arrays:
    """``compute(start, stop)`` over ``range(total)`` in chunks saved beside ``target``, then joined into it."""
    if target.exists():
        logger.info(f"teacher {name}: answers for {total} faces read from the cache")
        with np.load(target, allow_pickle=False) as saved:
            return dict(saved)
    parts: list[Arrays] = []
    started, computed = time.monotonic(), 0
    for start in range(0, total, chunk):
        stop = min(total, start + chunk)
        part = _part(target, start)
        if part.exists():
            with np.load(part, allow_pickle=False) as saved:
                parts.append(dict(saved))
            continue
        parts.append(compute(start, stop))
        save_arrays(part, parts[-1])
        computed += stop - start
        rate = computed / max(time.monotonic() - started, 1e-9)
        left = (total - stop) / rate / 60
        logger.info(f"teacher {name}: {stop}/{total} faces, {rate:.0f} faces/s, about {left:.1f} min left")
    joined = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]} if parts else {}
    save_arrays(target, joined)
    for start in range(0, total, chunk):
        _part(target, start).unlink(missing_ok=True)
    return joined


def save_arrays(path: Path, arrays: Arrays) -> None:
    """Write ``arrays`` as one .npz atomically: a kill leaves the old file or the new, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy's stub reads **kwds as allow_pickle
    os.replace(tmp, path)


def _part(target: Path, start: int) -> Path:
    return target.with_name(f"{target.stem}.part{start:07d}.npz")
