"""Grad-CAM: maps of the right shape and range that depend on the face; the saliency fallback; CLI and Photo page."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from emotion_core.classify.card import ModelCard
from emotion_core.classify.explain import Explainer, explain_faces, last_conv_layer, overlay
from emotion_core.classify.network import build_model, save_run
from emotion_core.classify.predictor import Predictor
from emotion_core.labels import EMOTIONS
from emotion_core.vision.align import aligned_crop, faces_to_batch
from emotion_core.vision.decode import read_image
from tests.conftest import REPO, shared_photo

APP = str(Path(__file__).resolve().parent.parent / "app.py")
METADATA = {"labels": list(EMOTIONS), "input_size": 48, "architecture": "tiny"}


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    keras.utils.set_random_seed(0)  # random weights, but the same ones each run
    return Predictor(build_model("tiny", len(EMOTIONS)), ModelCard.from_metadata(METADATA))


@pytest.fixture(scope="module")
def photos() -> list[Path]:
    return [shared_photo("01_happy.png"), shared_photo("02_surprised.png")]


def model_inputs(predictor: Predictor, photos: list[Path]) -> np.ndarray:
    """The 48x48 crop the model sees of the one face in each photo."""
    crops = []
    for photo in photos:
        image = read_image(photo)
        crops.append(faces_to_batch(image, predictor.detector.detect(image)[:1])[0])
    return np.stack(crops)


def test_grad_cam_maps_have_the_input_shape_unit_range_and_depend_on_the_face(predictor, photos):
    explainer = Explainer(predictor.model)
    assert explainer.method == "grad-cam"
    assert tuple(last_conv_layer(predictor.model).output.shape[1:]) == (24, 24, 16), "tiny's second conv"
    faces = model_inputs(predictor, photos)
    classes = np.argmax(predictor.classify(faces), axis=1)
    maps = explainer.heatmaps(faces, classes)

    assert maps.shape == (2, 48, 48) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() == pytest.approx(1.0)
    assert all(m.std() > 0.01 for m in maps), "not a constant map"
    assert np.abs(maps[0] - maps[1]).mean() > 0.01, "different faces give different maps"


def test_a_model_without_convolutions_falls_back_to_input_saliency(predictor, photos):
    inputs = keras.Input((48, 48, 1))
    logits = keras.layers.Dense(7)(keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs)))
    explainer = Explainer(keras.Model(inputs, keras.layers.Activation("softmax")(logits)))
    assert explainer.method == "saliency"
    maps = explainer.heatmaps(model_inputs(predictor, photos), [3, 3])
    assert maps.shape == (2, 48, 48) and maps.min() >= 0 and maps.max() == pytest.approx(1.0)
    assert all(m.std() > 0.01 for m in maps)


def test_overlay_is_a_bgr_picture_of_the_crop_size(predictor, photos):
    image = read_image(photos[0])
    faces = predictor.predict(image)
    [picture] = explain_faces(predictor, image, faces)
    side = aligned_crop(image, faces[0].detection or faces[0].box, predictor.preprocess_config).shape[0]
    assert picture.dtype == np.uint8 and picture.shape[2] == 3 and abs(picture.shape[0] - side) <= 1
    hot = overlay(np.full((10, 10), 128, np.uint8), np.ones((48, 48), np.float32))
    cold = overlay(np.full((10, 10), 128, np.uint8), np.zeros((48, 48), np.float32))
    assert hot.shape == (10, 10, 3) and hot[0, 0, 2] > cold[0, 0, 2], "JET: hot is red"


@pytest.mark.slow  # a subprocess
def test_cli_explain_writes_one_png_per_face_and_names_it_in_the_json(predictor, photos, tmp_path):
    run = save_run(tmp_path / "tiny", predictor.model, METADATA)
    odd = tmp_path / "in" / "my photo (1).png"
    odd.parent.mkdir()
    shutil.copy(photos[1], odd)
    inputs = [photos[0], odd, photos[0]]
    outdir = tmp_path / "why"
    command = ["predict", "--model", str(run), "--explain", str(outdir), *map(str, inputs)]
    done = subprocess.run([sys.executable, "-m", "emotion_core", *command], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in done.stdout.splitlines()]
    names = [Path(r["faces"][0]["explanation"]).name for r in records]
    assert names == ["01_happy_face0.png", "my_photo_1_face0.png", "01_happy-2_face0.png"]
    assert sorted(p.name for p in outdir.iterdir()) == sorted(names)
    picture = cv2.imread(records[1]["faces"][0]["explanation"])
    assert picture is not None and picture.shape[2] == 3


def test_photo_page_shows_a_grad_cam_picture_per_face(tmp_path, monkeypatch, photos):
    save_run(tmp_path / "tiny", build_model("tiny", len(EMOTIONS)), METADATA)
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["model_name"] = "tiny"
    at.switch_page("pages/photo.py").run()
    at.file_uploader[0].upload(photos[0].name, photos[0].read_bytes(), "image/png").run()
    assert len(at.get("image")) == 1
    next(t for t in at.toggle if t.label == "Explain (Grad-CAM)").set_value(True).run()
    assert not at.exception, at.exception
    assert len(at.get("image")) == 2, "the photo and one overlay"
