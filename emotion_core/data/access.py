"""Which dataset paths the dashboard may open: a typed path is confined to allowed roots.

The dashboard may be reached over a network, and its dataset box takes any path: unconfined, a visitor
could list and view the images (or read any fer2013-like CSV) of every folder the server's user can read.
The command line (``python -m train ...``) is not confined: whoever runs it already has a shell.
"""

from __future__ import annotations

import os
from pathlib import Path

from emotion_core.errors import DataPathNotAllowedError
from emotion_core.paths import SAMPLE_DATA, SHARED_DATA, default_data_path, runs_dir
from emotion_core.storage import OwnerStore, touches_private

ROOTS_ENV = "EMOTION_DATA_ROOTS"


def allowed_data_roots() -> list[Path]:
    """$EMOTION_DATA_ROOTS (folders separated by ':'), else the sample data, ../shared/data and the runs folder.

    $EMOTION_DATA, the configured default dataset, is always allowed. Set EMOTION_DATA_ROOTS=/ to allow every
    path. Uploads are not a root: each visitor reaches only their own (``check_data_path``'s ``own``).
    """
    raw = [p for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    roots = [Path(p).expanduser() for p in raw] if raw else [SAMPLE_DATA.parent, SHARED_DATA, runs_dir()]
    return [root.resolve() for root in [*roots, default_data_path()]]


def check_data_path(path: str | Path, own: OwnerStore | None = None, server_paths: bool = True) -> Path:
    """``path`` resolved (symlinks followed, so a link cannot lead outside), or DataPathNotAllowedError.

    ``own``: the visitor's own uploads, which they (and only they) may open. ``server_paths`` False (a viewer of
    a shared dashboard): nothing but those uploads and the app's default dataset.
    """
    resolved = Path(path).expanduser().resolve()
    if own is not None and own.owns(resolved):
        return resolved
    if not server_paths and resolved != default_data_path().resolve():
        raise DataPathNotAllowedError(
            "only an admin may open folders on the server by their path; upload a zip instead"
        )
    if not any(resolved == root or resolved.is_relative_to(root) for root in allowed_data_roots()):
        raise DataPathNotAllowedError(
            "that path is outside the folders this app may read datasets from; upload a zip instead, or ask whoever "
            f"runs the app to add its folder to ${ROOTS_ENV}"
        )
    if touches_private(resolved):  # refused even where every path is allowed (a root of /)
        raise DataPathNotAllowedError(
            "that path is, or holds, the app's private storage of visitors' uploads; choose another folder"
        )
    return resolved
