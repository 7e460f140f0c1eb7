"""Process-wide settings, applied by entry points only (the CLIs, the app, the tests), never on import."""

from __future__ import annotations

import os


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ start-up chatter; must run before TensorFlow is first imported to take effect.

    A default only: a user who sets TF_CPP_MIN_LOG_LEVEL keeps theirs.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
