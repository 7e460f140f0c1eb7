"""Which dataset paths the dashboard may open: a typed path is confined to allowed roots.

The dashboard may be reached over a network, and its dataset box takes any path: unconfined, a visitor
could list and view the images (or read any fer2013-like CSV) of every folder the server's user can read.
The command line (``python -m train ...``) is not confined: whoever runs it already has a shell.
"""

from __future__ import annotations

import os
from pathlib import Path

from emotion_core.data import summary as explore
from emotion_core.errors import DataPathNotAllowedError
from emotion_core.paths import SAMPLE_DATA, SHARED_DATA, default_data_path, runs_dir

ROOTS_ENV = "EMOTION_DATA_ROOTS"


def allowed_data_roots() -> list[Path]:
    """$EMOTION_DATA_ROOTS (folders separated by ':'), else the sample data, ../shared/data and the runs folder.

    Uploaded zips (stored by the app under generated names) and $EMOTION_DATA, the configured default
    dataset, are always allowed. Set EMOTION_DATA_ROOTS=/ to allow every path.
    """
    raw = [p for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    roots = [Path(p).expanduser() for p in raw] if raw else [SAMPLE_DATA.parent, SHARED_DATA, runs_dir()]
    return [root.resolve() for root in [*roots, explore.UPLOAD_DIR, default_data_path()]]


def check_data_path(path: str | Path) -> Path:
    """``path`` resolved (symlinks followed, so a link cannot lead outside), or DataPathNotAllowedError."""
    resolved = Path(path).expanduser().resolve()
    roots = allowed_data_roots()
    if any(resolved == root or resolved.is_relative_to(root) for root in roots):
        return resolved
    raise DataPathNotAllowedError(
        f"{path} is outside the folders this app may read datasets from ({', '.join(map(str, roots[:-2]))}, and "
        f"uploads); upload a zip instead, or ask whoever runs the app to add its folder to ${ROOTS_ENV}"
    )
