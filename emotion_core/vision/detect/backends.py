"""The face detectors one can choose by name. Adding one: a module with ``load(config) -> Backend``, and a line here."""

from __future__ import annotations

from emotion_core.errors import DetectorUnavailableError
from emotion_core.vision.detect import haar, yunet
from emotion_core.vision.detect.backend import Backend, BackendLoader
from emotion_core.vision.detect.config import DetectorConfig

BACKENDS: dict[str, BackendLoader] = {
    "yunet": yunet.load,  # the default: finds small and turned faces, gives eyes
    "haar": haar.load,  # frontal faces only, no eyes
}


def load_backend(config: DetectorConfig) -> Backend:
    """The backend ``config.backend`` names, loaded; a one-line error for an unknown or uninstalled one."""
    if config.backend not in BACKENDS:
        raise DetectorUnavailableError(f"unknown face detector '{config.backend}'; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[config.backend](config)
