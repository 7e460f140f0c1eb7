"""End to end: ``python -m emotion_core predict`` with the shipped model, on real photos and on bad inputs."""

import json

import pytest

from emotion_core.labels import EMOTIONS
from tests.conftest import run_module
from tests.test_io import png_claiming


@pytest.mark.slow  # a subprocess
def test_shared_photos_get_one_face_each_with_the_contract_shape(face_photos):
    done = run_module("emotion_core", "predict", *face_photos)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(p) for p in face_photos]
    for record in records:
        assert len(record["faces"]) == 1, record["image"]
        face = record["faces"][0]
        assert list(face["scores"]) == list(EMOTIONS)
        assert abs(sum(face["scores"].values()) - 1) < 0.01
        assert face["emotion"] == max(face["scores"], key=face["scores"].get)
        x, y, w, h = face["box"]
        assert 0 <= x and 0 <= y and x + w <= 320 and y + h <= 243 and w > 50


@pytest.mark.slow  # a subprocess
def test_bad_inputs_are_answered_in_order_and_the_rest_still_predicted(face_photos, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    truncated = tmp_path / "half.png"
    truncated.write_bytes(face_photos[0].read_bytes()[:400])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(60000, 60000))
    missing = tmp_path / "missing.jpg"
    inputs = [text, face_photos[0], empty, truncated, bomb, missing, face_photos[1]]

    done = run_module("emotion_core", "predict", *inputs)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(p) for p in inputs]
    errors = [r.get("error") for r in records]
    assert errors[1] is None and errors[6] is None
    assert len(records[1]["faces"]) == 1 and len(records[6]["faces"]) == 1
    for i in (0, 2, 3, 4, 5):
        assert errors[i] and "\n" not in errors[i] and set(records[i]) == {"image", "error"}
    assert "pixels" in errors[4] and "no such file" in errors[5]


@pytest.mark.slow  # a subprocess
def test_unknown_model_is_one_clear_line(face_photos):
    done = run_module("emotion_core", "predict", "--model", "nope", face_photos[0])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no model 'nope'; available: default" in done.stderr.strip().splitlines()[-1]
