"""Where the app keeps what visitors upload: a folder made for this server alone, one sub-folder per owner.

Face photos are personal data. A fixed name in the shared temp folder (``/tmp/emotion-uploads``) can be made
first by another local user (a symlink, or a folder open to all), and every visitor's upload sat side by side in
it, reachable by typing its path. Here the root is ``tempfile.mkdtemp`` (a random name, mode 0700, ours), removed
when the server stops; each owner (a browser session, or a logged-in user) gets a folder named by a hash of its
id, which no page shows and no typed path may reach (``emotion_core.data.access``). An owner's uploads are
capped in bytes and files, and owners idle past ``OwnerLimits.idle_s`` are removed.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from emotion_core.errors import UnsafeFolderError, UploadLimitError

CACHE_ENV = "XDG_CACHE_HOME"
APP_CACHE = "emotion-dashboard"
FACE_CACHE_ENV = "EMOTION_FACE_CACHE"  # where emotion_core.data.photo_crops caches face crops, if set

_root: Path | None = None
_root_lock = threading.Lock()


def private_folder(path: Path) -> Path:
    """``path`` made (or found) as a folder that only we can enter; UnsafeFolderError if it is anything else.

    Never follows a symlink and never adopts another user's folder or one that others may write to or read.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolderError(f"refusing to use {path.name}: it is not a plain folder")
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise UnsafeFolderError(f"refusing to use {path.name}: another user owns it or may enter it")
    return path


def server_root() -> Path:
    """This server process's private folder (random name, mode 0700), removed when the process exits."""
    global _root
    with _root_lock:
        if _root is None or not _root.is_dir():
            _root = private_folder(Path(tempfile.mkdtemp(prefix="emotion-")))
            atexit.register(shutil.rmtree, _root, True)
    return _root


def private_places() -> list[Path]:
    """Where the app keeps visitors' data: this server's folder (uploads) and its cache (face crops), resolved."""
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache") / APP_CACHE
    crops = Path(os.environ[FACE_CACHE_ENV]) if os.environ.get(FACE_CACHE_ENV) else None
    return [place.resolve() for place in (_root, base, crops) if place is not None]


def touches_private(path: Path) -> bool:
    """Whether ``path`` (resolved) lies in, or holds, a place with visitors' data: no typed path may open one,
    and no folder walk (a batch job over /tmp) may pass through one."""
    return any(path.is_relative_to(place) or place.is_relative_to(path) for place in private_places())


def user_cache(name: str) -> Path:
    """``~/.cache/emotion-dashboard/<name>`` (``$XDG_CACHE_HOME`` respected), private: caches that outlive a restart."""
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache")
    return private_folder(private_folder(base / APP_CACHE) / name)


@dataclass(frozen=True)
class OwnerLimits:
    max_bytes: int = 200 * 1024 * 1024  # everything one owner keeps at once
    max_files: int = 20  # uploads one owner keeps at once; the least recently used go first
    idle_s: float = 6 * 3600  # an owner unseen this long (a closed tab) loses its uploads


class OwnerStore:
    """One owner's uploads: stored under content-hash names (never the name it came with), in the owner's folder."""

    def __init__(self, owner: str, limits: OwnerLimits | None = None, root: Path | None = None) -> None:
        if not owner:
            raise ValueError("an upload needs an owner")
        self.limits = limits or OwnerLimits()
        self.parent = private_folder((root or server_root()) / "uploads")
        self.folder = self.parent / hashlib.sha256(owner.encode()).hexdigest()[:32]

    def put(self, data: bytes, suffix: str = ".zip") -> Path:
        """Store ``data``; the same bytes again map to the same file. UploadLimitError past the owner's caps."""
        if len(data) > self.limits.max_bytes:
            raise UploadLimitError(f"the upload is {_mb(len(data))}; at most {_mb(self.limits.max_bytes)} is kept")
        private_folder(self.folder)
        target = self.folder / f"{hashlib.sha256(data).hexdigest()[:24]}{suffix}"
        if not target.exists():
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".part-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        os.utime(target)  # most recently used
        os.utime(self.folder)
        self._prune(keep=target)
        expire_idle(self.parent, self.limits.idle_s, keep=self.folder)
        return target

    def touch(self) -> None:
        """Mark the owner as active (each page run that uses an upload), so idle expiry spares it."""
        if self.folder.is_dir():
            os.utime(self.folder)

    def owns(self, path: str | Path) -> bool:
        """Whether ``path`` lies in this owner's folder (symlinks resolved)."""
        return Path(path).resolve().is_relative_to(self.folder.resolve())

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _prune(self, keep: Path) -> None:
        """The least recently used uploads go until the owner is within its caps."""
        stored = sorted((p for p in self.folder.iterdir() if not p.name.startswith(".")), key=_mtime, reverse=True)
        total = 0
        for index, path in enumerate(stored):
            total += _size(path)
            if path != keep and (index >= self.limits.max_files or total > self.limits.max_bytes):
                path.unlink(missing_ok=True)


def expire_idle(parent: Path, idle_s: float, keep: Path | None = None) -> None:
    """Remove owner folders under ``parent`` untouched for ``idle_s`` seconds (closed tabs leave them behind)."""
    cutoff = time.time() - idle_s
    for folder in parent.iterdir():
        if folder != keep and folder.is_dir() and _mtime(folder) < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile
        return 0.0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"
