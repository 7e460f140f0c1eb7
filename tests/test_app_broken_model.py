"""A model that cannot be loaded is one line of st.error on every page that loads it, never a traceback.

The runs folder holds copies of the tiny model, each broken one way: a truncated or non-zip model.keras, an
unreadable metadata.json, a corrupt int8 .tflite (the export the webcam prefers). Also the core's side: one
error type (ModelLoadError) from every loader.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
import streamlit_webrtc
from streamlit.testing.v1 import AppTest

from emotion_core.classify.network import load_run
from emotion_core.classify.predictor import Predictor
from emotion_core.classify.registry import read_metadata
from emotion_core.classify.tflite import load_tflite
from emotion_core.errors import ModelLoadError

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120  # the first run imports TensorFlow on a busy machine


def break_copy(tiny_run: Path, root: Path, name: str) -> Path:
    run = root / name
    shutil.copytree(tiny_run, run)
    model = run / "model.keras"
    if name == "truncated":
        model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    elif name == "garbage":
        model.write_bytes(b"this is not a Keras archive")
    elif name == "badmeta":
        (run / "metadata.json").write_bytes(b'{"labels": ["happy", ')
    elif name == "badlite":
        (run / "model.int8.tflite").write_bytes(b"\x00" * 64)
    return run


@pytest.fixture
def broken_runs(tmp_path: Path, tiny_run: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "runs"
    for name in ("truncated", "garbage", "badmeta", "badlite"):
        break_copy(tiny_run, root, name)
    monkeypatch.setenv("EMOTION_RUNS", str(root))
    return root


@pytest.mark.parametrize("name", ["truncated", "garbage", "badmeta"])
def test_load_run_raises_one_error_type(broken_runs: Path, name: str) -> None:
    with pytest.raises(ModelLoadError, match=str(broken_runs / name)):
        load_run(broken_runs / name)


def test_unreadable_metadata_and_tflite_files_raise_model_load_errors(broken_runs: Path) -> None:
    with pytest.raises(ModelLoadError, match="metadata.json"):
        read_metadata("badmeta")
    with pytest.raises(ModelLoadError, match="export it again"):
        load_tflite(broken_runs / "badlite" / "model.int8.tflite")
    with pytest.raises(ModelLoadError, match="no TFLite file"):  # a missing .tflite
        Predictor.load(broken_runs / "truncated" / "model.tflite")


def page_with_model(page: str, model: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["model_name"] = model
    at.switch_page(page)
    return at.run()


def assert_one_line_error(at: AppTest, model: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    messages = [e.value for e in at.error]
    assert any(m.startswith("Cannot load model '") and model in m for m in messages), messages
    assert all("\n" not in m for m in messages), messages
    assert at.sidebar.selectbox[0].value == model  # the sidebar still works: another model can be picked


def png_face() -> bytes:
    return cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))[1].tobytes()


def test_home_page_reports_unreadable_metadata(broken_runs: Path) -> None:
    assert_one_line_error(page_with_model("pages/home.py", "badmeta"), "badmeta")


@pytest.mark.parametrize("model", ["truncated", "badmeta"])
def test_photo_page_reports_a_broken_model_after_an_upload(broken_runs: Path, model: str) -> None:
    at = page_with_model("pages/photo.py", model)
    at.get("file_uploader")[0].set_value(("face.png", png_face(), "image/png"))
    assert_one_line_error(at.run(), model)


def test_video_page_reports_a_broken_model_on_analyse(broken_runs: Path) -> None:
    at = page_with_model("pages/video.py", "garbage")
    at.get("file_uploader")[0].set_value(("clip.mp4", b"\x00" * 128, "video/mp4"))
    at.run()
    next(b for b in at.button if b.label == "Analyse").click()
    assert_one_line_error(at.run(), "garbage")


def test_evaluate_page_reports_a_broken_model(broken_runs: Path) -> None:
    at = page_with_model("pages/evaluate.py", "truncated")
    next(b for b in at.button if b.label.startswith("Evaluate")).click()
    assert_one_line_error(at.run(), "truncated")


def test_models_page_lists_broken_models_and_reports_one_in_a_comparison(broken_runs: Path) -> None:
    at = page_with_model("pages/models.py", "default")
    assert not at.exception, [e.value for e in at.exception]
    at.multiselect(key="compare_models").set_value(["truncated"])
    at.button(key="compare").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("truncated" in e.value and e.value.startswith("Cannot load model") for e in at.error)


@pytest.mark.parametrize("model", ["truncated", "badlite"])
def test_webcam_page_reports_a_broken_model(broken_runs: Path, model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_streamer(**kwargs: Any) -> SimpleNamespace:  # a real stream needs a browser (tests/test_browser.py)
        return SimpleNamespace(state=SimpleNamespace(playing=False))

    monkeypatch.setattr(streamlit_webrtc, "webrtc_streamer", fake_streamer)
    assert_one_line_error(page_with_model("pages/webcam.py", model), model)
