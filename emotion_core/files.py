"""File helpers that import no TensorFlow: atomic writes, and a file's version for cache keys."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def replace_atomically(target: Path, write: Callable[[Path], Any]) -> None:
    """Let ``write`` fill a temporary file beside ``target``, then rename it over ``target``.

    A reader (or a process killed mid-write) sees the old file or the new one, never half of one.
    """
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=target.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)  # mkstemp makes the file private; model files are meant to be shared
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: Path, data: Any) -> None:
    """JSON written beside its target then renamed over it, so readers never see half a file."""
    text = json.dumps(data, indent=2, default=str)
    replace_atomically(path, lambda tmp: tmp.write_text(text))


def file_version(path: str | Path) -> float:
    """Modification time, so caches keyed on (path, version) notice a replaced file; 0 if it is missing."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (0 if it is missing); files removed meanwhile count nothing."""
    total = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
