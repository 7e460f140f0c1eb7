"""Every page except the webcam's renders from app.py's navigation without an exception, on an empty runs folder."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 60  # the first script run imports TensorFlow


@pytest.mark.parametrize(
    "page",
    [
        "pages/home.py",
        "pages/photo.py",
        "pages/dataset.py",
        "pages/batch.py",
        "pages/train.py",
        "pages/evaluate.py",
        "pages/models.py",
    ],
)
def test_page_renders_without_exception(page, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path))
    monkeypatch.setenv("EMOTION_BATCH_JOBS", str(tmp_path / "batch"))
    monkeypatch.delenv("EMOTION_DATA", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title, "every page has a title"
    assert at.sidebar.selectbox[0].label == "Model"
