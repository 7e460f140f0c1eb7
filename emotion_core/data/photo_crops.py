"""Datasets of photos: each image's largest face, found and cropped exactly as the Predictor does, and cached.

FER2013 and CK+ hold 48x48 face crops; most other datasets (a user's own photos, studio sets, TCFE) hold
whole photos, which squeezed to 48x48 show the model a tiny face among shoulders and background. Detection
costs ~10 ms a photo, so the crops are cached on disk keyed by the file's content and every setting that
shapes the crop: the second epoch, the second evaluation and the dashboard do not detect again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion_core.storage import FACE_CACHE_ENV, private_folder, user_cache
from emotion_core.vision import align as preprocess_module
from emotion_core.vision import colour, detect
from emotion_core.vision.align import PreprocessConfig, photo_to_inputs
from emotion_core.vision.detect import FaceDetector

logger = logging.getLogger(__name__)

FACE_MODES = ("auto", "crops", "detect")
CACHE_ENV = FACE_CACHE_ENV  # folder for cached crops; default: ~/.cache/emotion-dashboard/face-crops
# One cached crop is ~2.4 kB (48x48 plus a header): 40,000 of them ~100 MB. The oldest go first.
MAX_CACHE_FILES = 40_000
CACHE_FORMAT = "1"


@dataclass(frozen=True)
class FaceCrop:
    """One photo's detection: the largest face as model input, and how many faces there were."""

    face: np.ndarray | None  # (size, size) uint8; None when no face was found
    faces: int


def default_cache_dir() -> Path:
    """$EMOTION_FACE_CACHE, else a private folder in the user's cache (never a fixed name in the shared temp dir)."""
    configured = os.environ.get(CACHE_ENV)
    return private_folder(Path(configured)) if configured else user_cache("face-crops")


class CropCache:
    """Crops on disk, one small .npy per photo, bounded to ``max_files`` (least recently written go first).

    Several processes (the CLI, the dashboard) may share the folder: writes are atomic renames.
    """

    def __init__(self, root: Path | None = None, max_files: int = MAX_CACHE_FILES) -> None:
        self.root = Path(root or default_cache_dir())
        self.max_files = max_files
        self.hits = self.misses = 0
        self._writes = 0
        self.root.mkdir(parents=True, exist_ok=True)
        self.prune()

    def get(self, key: str, size: int) -> FaceCrop | None:
        try:
            stored = np.load(self.root / f"{key}.npy", allow_pickle=False)
        except (OSError, ValueError):
            self.misses += 1
            return None
        if stored.ndim != 1 or stored.size not in (1, 1 + size * size):
            self.misses += 1
            return None
        self.hits += 1
        face = stored[1:].reshape(size, size) if stored.size > 1 else None
        return FaceCrop(face, int(stored[0]))

    def put(self, key: str, crop: FaceCrop) -> None:
        values = [np.array([min(crop.faces, 255)], np.uint8)]
        if crop.face is not None:
            values.append(crop.face.ravel())
        target = self.root / f"{key}.npy"
        try:
            with tempfile.NamedTemporaryFile(dir=self.root, suffix=".tmp", delete=False) as tmp:
                np.save(tmp, np.concatenate(values))
            os.replace(tmp.name, target)
        except OSError as error:  # a full disk only costs the cache, never the run
            logger.warning("cannot cache a face crop in %s: %s", self.root, error)
            return
        self._writes += 1
        if self._writes % 1000 == 0:
            self.prune()

    def prune(self) -> None:
        """Delete the oldest crops beyond ``max_files`` (down to 90 % of it, so pruning stays rare)."""
        try:
            files = [(entry.stat().st_mtime, entry.path) for entry in os.scandir(self.root) if entry.is_file()]
        except OSError:
            return
        if len(files) <= self.max_files:
            return
        files.sort()
        for _, path in files[: len(files) - int(self.max_files * 0.9)]:
            try:
                os.unlink(path)
            except OSError:  # removed meanwhile by another process
                pass


class PhotoCropper:
    """Photo bytes -> its largest face as model input, through ``preprocess.photo_to_inputs`` (the Predictor's path)."""

    def __init__(
        self,
        config: PreprocessConfig | None = None,
        detector: FaceDetector | None = None,
        cache: CropCache | None = None,
    ) -> None:
        self.config = config or PreprocessConfig()
        self.detector = detector or FaceDetector()
        self.cache = cache
        self._settings = settings_digest(self.detector, self.config)

    def __call__(self, data: bytes, decode: Callable[[bytes], np.ndarray]) -> FaceCrop:
        """Detect and crop (or read the cached crop of) one photo; ``decode`` runs only on a cache miss."""
        key = hashlib.sha256(self._settings.encode() + data).hexdigest()
        if self.cache is not None:
            cached = self.cache.get(key, self.config.size)
            if cached is not None:
                return cached
        found, batch = photo_to_inputs(decode(data), self.detector, self.config)
        crop = FaceCrop(batch[0, :, :, 0] if len(found) else None, len(found))
        if self.cache is not None:
            self.cache.put(key, crop)
        return crop


def settings_digest(detector: FaceDetector, config: PreprocessConfig) -> str:
    """Everything that shapes a crop: detector kind and settings, preprocessing, and the code of both modules.

    Hashing the source of the detect package, the colour conversions and the alignment means a changed detector or
    crop (e.g. eye alignment) never serves stale crops, without anyone remembering to bump a version.
    """
    parts = [CACHE_FORMAT, type(detector).__qualname__, repr(getattr(detector, "config", None)), repr(config)]
    sources = sorted(Path(str(detect.__file__)).parent.glob("*.py"))
    for source in [*sources, Path(str(colour.__file__)), Path(str(preprocess_module.__file__))]:
        parts.append(hashlib.sha256(source.read_bytes()).hexdigest())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
