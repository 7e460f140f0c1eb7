"""Photo page: the per-file work (emotion_core.serve.photos) on a real face photo and a non-image, and the page shell.

AppTest cannot drive st.file_uploader, so the page hands each file to ``analyse_photo`` and these tests call it.
"""

import csv
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion_core.classify.predictor import Predictor
from emotion_core.serve.photos import analyse_photo, results_csv, results_json
from emotion_core.vision.decode import read_image

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load()  # the shipped default model


@pytest.fixture(scope="module")
def happy_photo(face_photos) -> Path:
    return next(p for p in face_photos if p.name == "01_happy.png")  # GIF data named .png


def test_a_face_photo_gets_a_box_scores_and_drawing(predictor, happy_photo):
    result = analyse_photo(predictor, happy_photo.name, happy_photo.read_bytes())
    assert result.error is None
    assert len(result.faces) == 1
    face = result.faces[0]
    assert list(face.scores) == predictor.labels
    assert sum(face.scores.values()) == pytest.approx(1.0, abs=1e-3)
    original = read_image(happy_photo)
    assert result.annotated.shape == original.shape
    assert not np.array_equal(result.annotated, original), "box and label are drawn"
    record = result.to_dict()
    assert record["image"] == happy_photo.name and record["faces"][0]["emotion"] == face.emotion


def test_a_text_file_named_jpg_is_a_one_line_error_and_others_still_answer(predictor, happy_photo):
    results = [
        analyse_photo(predictor, "notes.jpg", b"this is not an image\n"),
        analyse_photo(predictor, happy_photo.name, happy_photo.read_bytes()),
        analyse_photo(predictor, "blank.png", _png_of_noise()),
    ]
    bad, good, blank = results
    assert bad.error and "\n" not in bad.error and bad.faces == []
    assert good.error is None and len(good.faces) == 1
    assert blank.error is None and blank.faces == [], "no face found is an answer, not an error"

    records = json.loads(results_json(results))
    assert [r["image"] for r in records] == ["notes.jpg", happy_photo.name, "blank.png"]
    assert set(records[0]) == {"image", "error"} and set(records[1]) == {"image", "faces"}
    assert set(records[1]["faces"][0]) == {"box", "emotion", "scores"}

    rows = list(csv.DictReader(io.StringIO(results_csv(results))))
    assert [row["image"] for row in rows] == ["notes.jpg", happy_photo.name, "blank.png"]
    assert rows[0]["error"] == bad.error and rows[2]["error"] == "no face found"
    assert rows[1]["emotion"] == good.faces[0].emotion and rows[1]["x"] == str(good.faces[0].box[0])
    assert float(rows[1][good.faces[0].emotion]) == pytest.approx(good.faces[0].confidence, abs=1e-4)


def test_photo_page_waits_for_a_photo(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/photo.py").run()
    assert not at.exception
    assert "Add a photo" in at.info[0].value


def _png_of_noise() -> bytes:
    noise = np.random.default_rng(0).integers(0, 40, (120, 160, 3), dtype=np.uint8)
    return cv2.imencode(".png", noise)[1].tobytes()
