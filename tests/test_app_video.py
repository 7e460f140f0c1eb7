"""Video page: upload a short face clip, analyse it with a tiny model; a text file named .mp4 is one error line."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emotion_core.classify.network import build_model, save_run
from emotion_core.labels import EMOTIONS
from emotion_core.vision.decode import read_image
from tests.conftest import shared_photo
from tests.test_video import FRAMES, write_face_clip

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def page(tmp_path, monkeypatch) -> AppTest:
    """The Video page on a runs folder holding one tiny random-weight model, selected."""
    metadata = {"labels": list(EMOTIONS), "input_size": 48, "architecture": "tiny"}
    save_run(tmp_path / "runs" / "tiny", build_model("tiny", len(EMOTIONS)), metadata)
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["model_name"] = "tiny"
    return at.switch_page("pages/video.py").run()


def analyse(page: AppTest, name: str, data: bytes, every: int = 1) -> AppTest:
    page.file_uploader[0].upload(name, data, "video/mp4").run()
    next(n for n in page.number_input if n.label.startswith("Analyse every")).set_value(every)
    return next(b for b in page.button if b.label == "Analyse").click().run()


def test_video_page_charts_segments_and_offers_downloads(page, tmp_path):
    assert not page.exception and "Upload a video" in page.info[0].value
    clip = write_face_clip(tmp_path / "clip.mp4", read_image(shared_photo("01_happy.png")))
    analyse(page, "../my holiday.mp4", clip.read_bytes(), every=2)

    assert not page.exception, page.exception
    assert not page.error, [e.value for e in page.error]
    assert f"{FRAMES // 2} frame(s) analysed, {FRAMES // 2} face(s) found" in [m.value for m in page.markdown]
    segments = page.dataframe[0].value
    assert list(segments["start_s"]) == [0.0] and segments["emotion"][0] in EMOTIONS
    assert [b.label for b in page.get("download_button")] == ["Download CSV", "Download annotated video"]
    held = page.session_state["video_result"]
    assert held["complete"] and held["annotated"].is_file()
    scratch = Path(page.session_state["video_tmp"].name)
    assert [p.name for p in scratch.iterdir()] == [held["annotated"].name], "the uploaded copy is removed"
    assert "holiday" not in held["annotated"].name


def test_a_text_file_named_mp4_is_one_error_line(page):
    analyse(page, "notes.mp4", b"not a video at all\n")
    assert not page.exception
    assert len(page.error) == 1 and "\n" not in page.error[0].value
    assert "not a video" in page.error[0].value
