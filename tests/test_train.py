import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from emotion_core.classify.network import load_run
from emotion_core.classify.predictor import Predictor
from tests.conftest import REPO, fake_face
from train.augment import mixup, random_erase
from train.config import TrainConfig
from train.fit import learning_rate_at


def test_fit_writes_a_loadable_self_describing_run(tiny_run):
    model, card = load_run(tiny_run)
    assert card.labels == ("angry", "happy", "sad", "neutral")
    assert card.input_size == 48 and card.training["epochs"] == 1
    assert set(card.metrics) >= {"accuracy", "per_class", "confusion"}
    # the default test-time views: mirror x (zoom out, plain, zoom in), as the metrics were computed
    metadata = json.loads((tiny_run / "metadata.json").read_text())
    assert metadata["inference"] == {"flip_average": True, "zooms": [0.9, 1.0, 1.1]}
    assert Predictor(model, card).views.count == 6
    assert json.loads((tiny_run / "state.json").read_text())["status"] == "finished"
    probabilities = np.asarray(model(np.zeros((2, 48, 48, 1), np.float32), training=False))
    assert probabilities.shape == (2, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-4)


def test_predictor_loads_a_run_by_path(tiny_run):
    predictor = Predictor.load(tiny_run)
    batch = np.stack([fake_face(i, i % 4) for i in range(3)])[..., None]
    assert predictor.classify(batch).shape == (3, 4)
    assert predictor.labels == ["angry", "happy", "sad", "neutral"]


@pytest.mark.slow  # a subprocess
def test_resume_continues_from_the_checkpoint(tiny_zip, tmp_path):
    run = tmp_path / "run"
    args = ["--data", str(tiny_zip), "--architecture", "tiny", "--epochs", "1", "--batch-size", "8", "--out", str(run)]
    fit = [sys.executable, "-m", "train", "fit", *args, "--keep-checkpoint"]  # a finished run drops it otherwise
    subprocess.run(fit, cwd=REPO, check=True, capture_output=True)
    first_rows = list(csv.DictReader((run / "log.csv").open()))
    config = json.loads((run / "config.json").read_text())
    config["epochs"] = 3  # as if the run had been cut off after epoch 1 of 3
    (run / "config.json").write_text(json.dumps(config))

    done = subprocess.run(
        [sys.executable, "-m", "train", "fit", "--resume", str(run)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    epochs_run = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("epoch ")]
    assert "resuming" in done.stdout and epochs_run == ["2/3", "3/3"]
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"] and rows[0] == first_rows[0]
    assert json.loads((run / "state.json").read_text()) | {"pid": 0} == {
        "status": "finished",
        "epoch": 3,
        "epochs": 3,
        "pid": 0,
    }


@pytest.mark.slow  # a subprocess
def test_fit_refuses_bad_settings_before_loading_anything(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "train", "fit", "--data", str(tmp_path / "nothing.zip"), "--epochs", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    # TensorFlow's C++ start-up lines may precede it on stderr; ours is the last line, and one line.
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error:") and "epochs" in done.stderr


def test_learning_rate_warms_up_then_decays_to_zero():
    config = TrainConfig(data="x", epochs=10, warmup_epochs=2, learning_rate=0.01)
    rates = [learning_rate_at(e, config) for e in range(10)]
    assert rates[0] < rates[1] < rates[2] == 0.01
    assert all(a >= b for a, b in zip(rates[2:], rates[3:], strict=False)) and rates[-1] < 0.001


def test_random_erasing_blanks_one_rectangle_to_the_mean_in_the_asked_share_of_faces():
    import tensorflow as tf

    tf.random.set_seed(3)
    faces = np.random.default_rng(0).uniform(0, 255, (400, 48, 48, 1)).astype(np.float32)
    erased = random_erase(tf.constant(faces), 0.5).numpy()
    changed = erased != faces
    touched = changed.reshape(400, -1).any(axis=1)
    assert 0.4 < touched.mean() < 0.6
    for face, before, mask in zip(erased[touched], faces[touched], changed[touched], strict=True):
        rows, cols = np.nonzero(mask[..., 0].any(axis=1))[0], np.nonzero(mask[..., 0].any(axis=0))[0]
        box = face[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        np.testing.assert_allclose(box, before.mean(), rtol=1e-4)  # one solid rectangle of the face's mean grey
        assert 0.04 <= box.size / face.size <= 0.26
    np.testing.assert_array_equal(random_erase(tf.constant(faces), 0.0).numpy(), faces)


def test_erase_share_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="erase"):
        TrainConfig(data="x", erase=1.5).validate()


def test_mixup_blends_faces_and_their_targets_in_the_same_share():
    import tensorflow as tf

    tf.random.set_seed(5)
    n = 16  # face i is a flat image of grey i with a one-hot target on class i: a mix must keep the two in step
    faces = np.repeat(np.arange(n, dtype=np.float32), 48 * 48).reshape(n, 48, 48, 1)
    images, targets = (t.numpy() for t in mixup(tf.constant(faces), tf.constant(np.eye(n, dtype=np.float32)), 0.4))
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-5)
    assert ((targets > 0).sum(axis=1) <= 2).all() and (targets.max(axis=1) < 0.999).any()  # pairs, really blended
    np.testing.assert_allclose(images[:, 0, 0, 0], targets @ np.arange(n), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(images.std(axis=(1, 2, 3)), 0.0, atol=1e-4)  # each face still one flat grey
