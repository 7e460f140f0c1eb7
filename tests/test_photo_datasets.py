"""Datasets of photos: faces found before training/evaluation, cached crops, no-face photos counted, person splits."""

import json
import logging

import cv2
import numpy as np
import pytest

from emotion_core.classify.card import ModelCard
from emotion_core.classify.predictor import Predictor
from emotion_core.data.datasets import open_dataset
from emotion_core.data.evaluate import NO_FACE_COLUMN
from emotion_core.data.person_splits import PersonSplit
from emotion_core.data.photo_crops import CropCache, PhotoCropper
from emotion_core.errors import DatasetLayoutError
from emotion_core.vision.align import PreprocessConfig
from emotion_core.vision.decode import read_image
from emotion_core.vision.detect import FaceDetector
from tests.conftest import FACES_DIR, jpeg_bytes, run_module, write_zip

SUBJECTS = ["01", "02", "03", "04", "05"]
CONDITIONS = {"happy": "happy", "sad": "sad", "normal": "neutral"}  # Yale condition -> class folder
BLANK = "all/neutral/05_blank.jpg"  # a photo with no face in it


def on_canvas(face: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """A Yale photo pasted on a larger, softly shaded canvas, as a face sits in an ordinary photo."""
    canvas = np.tile(np.linspace(90, 170, 480, dtype=np.uint8), (400, 1))
    y, x = offset
    canvas[y : y + face.shape[0], x : x + face.shape[1]] = face
    return canvas


@pytest.fixture(scope="module")
def photo_zip(tmp_path_factory):
    """15 photos (5 people x happy/sad/neutral) of 480x400, plus one without a face: all/<class>/<person>_<...>.jpg."""
    if not all((FACES_DIR / f"{s}_{c}.png").is_file() for s in SUBJECTS for c in CONDITIONS):
        pytest.skip(f"shared Yale photos not present in {FACES_DIR}")
    files = {}
    for i, subject in enumerate(SUBJECTS):
        for j, (condition, label) in enumerate(CONDITIONS.items()):
            face = cv2.cvtColor(read_image(FACES_DIR / f"{subject}_{condition}.png"), cv2.COLOR_BGR2GRAY)
            # Each at its own place: two Yale photos are identical, and the crop cache is keyed by content.
            offset = (20 + 10 * i + 5 * j, 30 + 20 * i)
            files[f"all/{label}/{subject}_{condition}.jpg"] = jpeg_bytes(on_canvas(face, offset))
    files[BLANK] = jpeg_bytes(np.tile(np.linspace(90, 170, 480, dtype=np.uint8), (400, 1)))
    return write_zip(tmp_path_factory.mktemp("photos") / "photos.zip", files)


def test_auto_detects_in_photos_and_keeps_48x48_crops(photo_zip, tiny_zip):
    photos = open_dataset(photo_zip).choose_faces("auto")
    assert photos.mode == "detect" and "larger than 48x48" in photos.reason
    assert open_dataset(tiny_zip).choose_faces("auto").mode == "crops"
    assert open_dataset(tiny_zip).choose_faces("detect").mode == "detect"  # asked for: obeyed
    with pytest.raises(DatasetLayoutError, match="unknown faces mode"):
        open_dataset(tiny_zip).choose_faces("guess")


def test_dataset_crop_is_the_predictors_input(photo_zip, tmp_path):
    """One path: what training/evaluation read from a photo is exactly the batch the Predictor classifies."""
    dataset = open_dataset(photo_zip)
    sample = next(s for s in dataset.samples if s.ref.endswith("02_happy.jpg"))
    loaded = dataset.load_faces([sample], ["happy"], PhotoCropper(cache=CropCache(tmp_path / "cache")))
    seen = []
    card = ModelCard.from_metadata({"labels": ["happy"]})
    predictor = Predictor(None, card, forward=lambda b: seen.append(b.copy()) or np.ones((len(b), 1)))
    faces = predictor.predict(dataset.read_image(sample))
    assert len(faces) == 1 and loaded.refs == [sample.ref]
    np.testing.assert_array_equal(seen[0][0], loaded.x[0])
    squeezed = open_dataset(photo_zip).load([sample], ["happy"])[0]  # the old way: the whole photo, squeezed
    assert np.abs(squeezed[0].astype(int) - loaded.x[0].astype(int)).mean() > 10


def test_no_face_photo_is_listed_not_dropped(photo_zip, tmp_path):
    dataset = open_dataset(photo_zip)
    loaded = dataset.load_faces(dataset.samples, dataset.classes, PhotoCropper(cache=CropCache(tmp_path / "c")))
    assert [s.ref for s in loaded.no_face] == [BLANK]
    assert len(loaded.x) == 15 and loaded.bad == [] and loaded.several == []
    assert BLANK not in loaded.refs


def test_cache_is_hit_the_second_time_and_skips_detection(photo_zip, tmp_path, monkeypatch):
    dataset = open_dataset(photo_zip)
    first = PhotoCropper(cache=CropCache(tmp_path / "cache"))
    x1 = dataset.load_faces(dataset.samples, dataset.classes, first)
    assert (first.cache.hits, first.cache.misses) == (0, 16)

    second = PhotoCropper(cache=CropCache(tmp_path / "cache"))
    monkeypatch.setattr(FaceDetector, "detect", lambda *a, **k: pytest.fail("detected again despite the cache"))
    x2 = dataset.load_faces(dataset.samples, dataset.classes, second)
    assert (second.cache.hits, second.cache.misses) == (16, 0)
    np.testing.assert_array_equal(x1.x, x2.x)
    assert [s.ref for s in x2.no_face] == [BLANK]  # a cached "no face" is remembered too

    other = PhotoCropper(PreprocessConfig(margin=0.25), cache=CropCache(tmp_path / "cache"))
    with pytest.raises(pytest.fail.Exception):  # other settings, other key: detects (here: fails) again
        dataset.load_faces(dataset.samples[:1], dataset.classes, other)


def test_cache_is_bounded(photo_zip, tmp_path):
    dataset = open_dataset(photo_zip)
    dataset.load_faces(dataset.samples, dataset.classes, PhotoCropper(cache=CropCache(tmp_path / "cache")))
    assert len(list((tmp_path / "cache").iterdir())) == 16
    CropCache(tmp_path / "cache", max_files=10)  # opening prunes the oldest beyond the bound
    assert len(list((tmp_path / "cache").iterdir())) <= 10


def test_evaluate_scores_no_face_as_wrong(photo_zip, tiny_run, tmp_path, monkeypatch):
    from train.evaluate import evaluate

    monkeypatch.setenv("EMOTION_FACE_CACHE", str(tmp_path / "cache"))
    report = evaluate(photo_zip, "all", tiny_run, "auto")
    assert report["faces"]["mode"] == "detect" and report["faces"]["no_face"] == [BLANK]
    assert report["n"] == 16  # the photo without a face is part of the score
    columns = report["confusion_columns"]
    assert columns[-1] == NO_FACE_COLUMN
    neutral = report["confusion"][report["labels"].index("neutral")]
    assert neutral[-1] == 1 and sum(neutral) == 6
    correct = sum(row[columns.index(label)] for label, row in zip(report["labels"], report["confusion"], strict=True))
    assert report["accuracy"] == round(correct / 16, 4) and correct <= 15


def test_person_split_keeps_people_apart(photo_zip, tmp_path):
    dataset = PersonSplit(r"^(\d\d)_", "04-05").apply(open_dataset(photo_zip))
    people = {split: {s.ref.rsplit("/", 1)[-1][:2] for s in dataset.split_samples(split)} for split in dataset.splits}
    assert people == {"train": {"01", "02", "03"}, "test": {"04", "05"}}
    assert len(dataset.split_samples("test")) == 7

    csv = tmp_path / "people.csv"
    names = [s.ref.rsplit("/", 1)[-1] for s in dataset.samples]
    csv.write_text("file,person\n" + "".join(f"{name},{int(name[:2])}\n" for name in names))
    by_csv = PersonSplit(str(csv), "4,5").apply(open_dataset(photo_zip))
    assert {s.ref for s in by_csv.split_samples("test")} == {s.ref for s in dataset.split_samples("test")}
    with pytest.raises(DatasetLayoutError, match="do not match"):
        PersonSplit(r"^person(\d+)", "1").apply(open_dataset(photo_zip))
    with pytest.raises(DatasetLayoutError, match="no file belongs"):
        PersonSplit(r"^(\d\d)_", "40-50").apply(open_dataset(photo_zip))


def test_evaluate_cli_on_held_out_people(photo_zip, tiny_run, tmp_path):
    done = run_module(
        "train", "evaluate", "--data", photo_zip, "--split", "test", "--model", tiny_run,
        "--split-by-person", r"^(\d\d)_", "--test-people", "04-05",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["n"] == 7 and report["faces"]["no_face"] == [BLANK]
    assert "faces: detect (auto:" in done.stdout and "no face found in 1 photos" in done.stdout


def test_fit_on_photos_detects_and_records_it(photo_zip, tmp_path, monkeypatch, caplog):
    from train.config import TrainConfig
    from train.fit import fit

    caplog.set_level(logging.INFO, logger="train")  # fit's progress lines (the CLI prints them)
    monkeypatch.setenv("EMOTION_FACE_CACHE", str(tmp_path / "cache"))
    config = TrainConfig(
        data=str(photo_zip), architecture="tiny", epochs=1, batch_size=4, val_fraction=0,
        split_by_person=r"^(\d\d)_", test_people="01-03",
    )  # fmt: skip
    run = fit(config, tmp_path / "run")
    out = caplog.text
    assert "faces: detect (auto:" in out and f"skipped {BLANK}: no face found" in out
    metadata = json.loads((run / "metadata.json").read_text())
    assert metadata["preprocessing"]["faces"] == "detect" and metadata["training"]["train_images"] == 6


def open_app_page(page: str, data, tmp_path, monkeypatch, model: str | None = None):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    monkeypatch.setenv("EMOTION_FACE_CACHE", str(tmp_path / "cache"))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90)
    at.session_state["data_path"] = str(data)
    if model:
        at.session_state["model_name"] = model
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_explorer_shows_photo_beside_crop_and_counts_no_face(photo_zip, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    at = open_app_page("pages/dataset.py", photo_zip, tmp_path, monkeypatch)
    assert any("faces: detect (auto:" in c.value for c in at.caption)
    next(s for s in at.selectbox if s.label == "Class").set_value("neutral").run()
    assert not at.exception, at.exception
    assert len(at.get("image")[0].proto.imgs) == 6  # 5 photos with a face and the blank one
    assert any("No face found in 1 of 6" in c.value for c in at.caption)

    next(b for b in at.button if b.label.startswith("Detect faces in every image")).click().run()
    assert not at.exception, at.exception
    assert any("No face found in 1 photo(s) among all 16 images of all" in w.value for w in at.warning)
    assert list(at.dataframe[-1].value["file"]) == [BLANK]


def test_evaluate_page_counts_no_face(photo_zip, tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS", str(tiny_run.parent))
    at = open_app_page("pages/evaluate.py", photo_zip, tmp_path, monkeypatch, tiny_run.name)
    next(b for b in at.button if b.label.startswith("Evaluate")).click().run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "16" and metrics["No face"] == "1"
    assert any("Faces: detect" in c.value for c in at.caption)
