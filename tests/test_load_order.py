"""aiortc's SRTP library and TensorFlow in one process: the dashboard's (app.py imports the guard first).

Only the dashboard's process (and the tests', which run its pages) loads aiortc; the CLI, API, batch and
training processes never do, so they no longer import the guard.

Each case is a fresh interpreter: the crash this guards against is a SIGSEGV in pylibsrtp's import when
TensorFlow is already loaded (see dashboard/load_order.py), so it cannot be caught in-process.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

pytest.importorskip("pylibsrtp")

# One SRTP round trip: protect with one session, unprotect with another, after TensorFlow has run.
SRTP_ROUND_TRIP = """
import tensorflow as tf
tf.constant(1.0).numpy()
from pylibsrtp import Policy, Session
key = bytes(range(30))
sender = Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
receiver = Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND))
packet = bytes([0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 42]) + b"face" * 25
assert receiver.unprotect(sender.protect(packet)) == packet
print("srtp ok")
"""


@pytest.mark.parametrize(
    "entry",
    [
        "import dashboard.load_order, emotion_core.classify.network",  # app.py, then any page that loads a model
        "import dashboard.load_order, train.fit",  # the Train page's imports load keras
        "import dashboard.load_order, streamlit_webrtc, emotion_core.classify.network",  # the webcam page's order
    ],
)
def test_srtp_works_after_any_entry_point_loaded_tensorflow(entry: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"{entry}\n{SRTP_ROUND_TRIP}"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"exit {result.returncode} (-11 is the SRTP/BoringSSL crash): {result.stderr[-500:]}"
    assert "srtp ok" in result.stdout


def test_app_imports_the_guard_before_anything_else() -> None:
    import ast

    tree = ast.parse((REPO / "app.py").read_text())
    first = next(node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom))
    assert isinstance(first, ast.Import) and first.names[0].name == "dashboard.load_order"
