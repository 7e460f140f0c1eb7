"""The model that ships in the repo: self-describing, and right on most posed expressions in the shared photos."""

import zipfile
from collections import Counter
from pathlib import Path

import pytest

from emotion_core.classify.predictor import Predictor
from emotion_core.classify.registry import read_metadata
from emotion_core.labels import EMOTIONS
from emotion_core.paths import DEFAULT_MODEL_DIR, SHARED_DATA
from emotion_core.vision.decode import decode_image, read_image

EXPECTED = {"happy": "happy", "surprised": "surprise", "normal": "neutral"}
ACCURACY_FLOOR = 0.72  # measured 0.762 (93/122) at shipping; disgust 8/17


@pytest.fixture(scope="module")
def shipped() -> Predictor:
    return Predictor.load()


def test_metadata_describes_a_fer2013_model():
    metadata = read_metadata()
    assert metadata["labels"] == list(EMOTIONS) and metadata["input_size"] == 48
    assert metadata["training"]["data"].endswith("fer2013.zip") and metadata["training"]["train_split"] == "train"
    # 0.6854 measured (benchmarks/RESULTS.md): 2.4 points under the FER2013-only model, traded for real photos
    assert metadata["metrics"]["accuracy"] >= 0.68 and metadata["metrics"]["n"] == 3589
    assert (DEFAULT_MODEL_DIR / "model.keras").stat().st_size < 10 * 2**20


@pytest.mark.parametrize("condition", EXPECTED)
def test_most_posed_expressions_are_named(shipped, face_photos, condition):
    photos = [p for p in face_photos if p.stem.endswith(f"_{condition}")]
    predicted = Counter(shipped.predict(read_image(p))[0].emotion for p in photos)
    assert predicted[EXPECTED[condition]] >= 4, predicted  # 4 of the 5 people at least


TCFE = SHARED_DATA / "tcfe" / "tcfe.zip"


def test_real_photos_keep_their_measured_level(shipped):
    """Every 8th TCFE photo (122 of 974, all 7 classes) through the full photo path, against ACCURACY_FLOOR:
    room for a few photos of numeric noise, not for a model or crop that generalises worse."""
    if not TCFE.is_file():
        pytest.skip(f"{TCFE} not present")
    with zipfile.ZipFile(TCFE) as archive:
        members = sorted(n for n in archive.namelist() if n.endswith(".jpg"))[::8]
        answers = [shipped.predict(decode_image(archive.read(n))) for n in members]
    truth = [Path(n).parent.name for n in members]
    right = [bool(faces) and faces[0].emotion == label for faces, label in zip(answers, truth, strict=True)]
    disgust = [r for r, label in zip(right, truth, strict=True) if label == "disgust"]
    assert sum(right) / len(right) >= ACCURACY_FLOOR, f"{sum(right)}/{len(right)}"
    assert sum(disgust) / len(disgust) >= 0.3, f"disgust {sum(disgust)}/{len(disgust)}"
