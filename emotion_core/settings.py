"""Process-wide settings, applied by entry points only (the CLIs, the app, the API, the tests), never on import."""

from __future__ import annotations

import os

# Defaults only: a user who sets any of these keeps theirs.
PROCESS_DEFAULTS = {
    # TensorFlow's C++ start-up chatter; read when TensorFlow is first imported.
    "TF_CPP_MIN_LOG_LEVEL": "2",
    # yuface's vendored OpenMP runtime busy-waits between calls by default; on 2 shared cores that starves
    # everything else and itself: 320 ms per webcam detection against 19 ms passive (measured under load).
    # Read when the library loads, so it must be set before the first detection.
    "OMP_WAIT_POLICY": "PASSIVE",
    # FFmpeg's complaints about odd clips would bury progress bars and one-line errors.
    "OPENCV_LOG_LEVEL": "ERROR",
    "OPENCV_FFMPEG_LOGLEVEL": "-8",
}


def apply_process_defaults() -> None:
    """Set ``PROCESS_DEFAULTS`` where unset; call first in every entry point, before TensorFlow or yuface load."""
    for name, value in PROCESS_DEFAULTS.items():
        os.environ.setdefault(name, value)
