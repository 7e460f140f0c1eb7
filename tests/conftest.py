"""Shared fixtures: paths to ../shared data, tiny datasets made on the fly, and a tiny trained model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.runtime.pages_manager import PagesManager

# First, before any test module can load TensorFlow: aiortc's SRTP library crashes the process when it loads
# after TensorFlow (a BoringSSL/OpenSSL symbol clash, see the module), and the webcam tests load it here.
import dashboard.load_order  # noqa: F401
from dashboard.streamlit_compat import leave_legacy_pages_mode
from emotion_core import paths
from emotion_core.settings import apply_process_defaults

apply_process_defaults()  # as the entry points do, before any test loads TensorFlow
REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = paths.SHARED_DATA
FACES_DIR = SHARED_DATA / "faces"
# The dashboard opens datasets only under allowed roots (emotion_core.data.access); tests make theirs in the temp dir.
os.environ.setdefault(
    "EMOTION_DATA_ROOTS",
    os.pathsep.join(map(str, [REPO / "sample_data", SHARED_DATA, REPO / "runs", tempfile.gettempdir()])),
)


def shared_photo(name: str) -> Path:
    """One shared Yale photo; the test skips (with the reason) where ../shared/data is not laid beside the repo."""
    path = FACES_DIR / name
    if not path.is_file():
        pytest.skip(f"shared photo {path} not present")
    return path


@pytest.fixture(scope="session")
def face_photos() -> list[Path]:
    photos = sorted(FACES_DIR.glob("*.png"))
    if len(photos) != 50:
        pytest.skip(f"the 50 shared Yale photos are expected in {FACES_DIR}")
    return photos


def run_module(*args: str | Path) -> subprocess.CompletedProcess:
    """``python -m <args>`` from the repo root, as a user would type it; stdout and stderr captured as text."""
    return subprocess.run([sys.executable, "-m", *map(str, args)], cwd=REPO, capture_output=True, text=True)


def jpeg_bytes(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image)[1].tobytes()


def fake_face(seed: int, label_index: int) -> np.ndarray:
    """A 48x48 grey image whose brightness pattern depends on the class, so a tiny net can learn something."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 60, (48, 48), dtype=np.uint8)
    image[:, label_index * 6 : label_index * 6 + 6] = 220
    return image


def make_dataset_files(per_class: dict[str, int], splits=("train", "test"), seed: int = 0) -> dict[str, bytes]:
    """Member name -> JPEG bytes for a <split>/<class>/<image> layout."""
    files = {}
    for split in splits:
        for index, (label, count) in enumerate(per_class.items()):
            for i in range(count):
                files[f"{split}/{label}/{i:03d}.jpg"] = jpeg_bytes(fake_face(seed + 1000 * index + i, index))
    return files


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@pytest.fixture(scope="session")
def tiny_zip(tmp_path_factory) -> Path:
    classes = {"angry": 6, "happy": 6, "sad": 6, "neutral": 6}
    return write_zip(tmp_path_factory.mktemp("data") / "tiny.zip", make_dataset_files(classes))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_zip) -> Path:
    """A tiny model trained for one epoch on tiny_zip: a real run folder, in seconds (its checkpoint kept: the
    resume tests start from it)."""
    from train.config import TrainConfig
    from train.fit import fit

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    config = TrainConfig(data=str(tiny_zip), architecture="tiny", epochs=1, batch_size=8, keep_checkpoint=True)
    return fit(config, run_dir)


@pytest.fixture
def runs(tmp_path, monkeypatch, tiny_run):
    """A runs folder holding two copies of the tiny model, 'alpha' and 'beta'."""
    root = tmp_path / "runs"
    for name in ("alpha", "beta"):
        shutil.copytree(tiny_run, root / name)
    monkeypatch.setenv("EMOTION_RUNS", str(root))
    return root


@pytest.fixture(scope="session")
def random_tiny_run(tmp_path_factory) -> Path:
    """A tiny random-weight run folder (no training, under a second): for plumbing tests where labels don't matter."""
    from emotion_core.classify.network import build_model, save_run
    from emotion_core.labels import EMOTIONS

    metadata = {"labels": list(EMOTIONS), "input_size": 48, "architecture": "tiny"}
    return save_run(tmp_path_factory.mktemp("runs") / "tiny-random", build_model("tiny", len(EMOTIONS)), metadata)


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for every in-process Ray job of the session, started as a job starts it (2 CPUs): each job
    finds it running and leaves it so, which saves a Ray start-up per job. Jobs run as subprocesses (the kill
    tests) start their own, as a user's would."""
    ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
    from emotion_core.batch.ray_engine import start_local

    if os.environ.get("RAY_ADDRESS"):
        pytest.skip("RAY_ADDRESS is set: the in-process jobs would run on that cluster")
    start_local(2)
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def app_entry_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest starts Streamlit's legacy pages/ mode afresh on every run(), so every page's route_through_app()
    would rerun each time and drop that run's clicks; a real server leaves the mode once, on its first run
    (tests/test_browser.py checks that on a fresh server)."""
    original = PagesManager.__init__

    def init(self: PagesManager, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        leave_legacy_pages_mode()

    monkeypatch.setattr(PagesManager, "__init__", init)
