"""``python -m train ensemble``: one run folder whose answer is its members' consensus, on every runtime."""

import json

import numpy as np
import pytest

from emotion_core.classify.network import build_model, save_run
from emotion_core.classify.predictor import Predictor
from emotion_core.classify.registry import read_card
from emotion_core.errors import ModelActionError
from emotion_core.labels import EMOTIONS
from tests.conftest import fake_face, run_module
from train.config import TrainConfig
from train.ensemble import ensemble


def random_run(root, name, seed, class_weights=None, labels=EMOTIONS):
    import keras

    keras.utils.set_random_seed(seed)
    metadata = {"name": name, "labels": list(labels), "input_size": 48, "architecture": "tiny"}
    if class_weights is not None:
        metadata["inference"] = {"class_weights": class_weights}
    return save_run(root / name, build_model("tiny", len(labels)), metadata)


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    root = tmp_path_factory.mktemp("members")
    weights = [1.0, 4.0, 1.0, 1.0, 2.0, 1.0, 1.0]
    return random_run(root, "one", seed=1, class_weights=weights), random_run(root, "two", seed=2)


def faces(n=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48, 1), dtype=np.uint8)


def test_answer_is_the_normalised_geometric_mean_with_the_members_corrections(members, tmp_path):
    run = ensemble([str(m) for m in members], tmp_path / "pair")
    card = read_card(run)
    assert card.architecture == "ensemble" and card.training["members"] == ["one", "two"]
    x = faces()
    one, two, both = (Predictor.load(m) for m in (*members, run))
    # Each member calibrated with its own weights, then the geometric mean renormalised: what the ensemble says.
    expected = np.sqrt(one.classify(x) * two.classify(x))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(both.classify(x), expected, atol=1e-4)
    assert not np.allclose(both.classify(x), one.classify(x), atol=1e-3)  # both members count


def test_members_must_agree_on_classes(members, tmp_path):
    odd = random_run(tmp_path, "odd", seed=3, labels=("angry", "happy", "sad", "neutral"))
    with pytest.raises(ModelActionError, match="names classes"):
        ensemble([str(members[0]), str(odd)], tmp_path / "bad")
    with pytest.raises(ModelActionError, match="at least two"):
        ensemble([str(members[0])], tmp_path / "alone")


def test_an_ensemble_cannot_be_fine_tuned(members, tmp_path, tiny_zip):
    run = ensemble([str(m) for m in members], tmp_path / "pair")
    with pytest.raises(ValueError, match="ensemble"):
        TrainConfig(data=str(tiny_zip), init=str(run)).validate()


@pytest.mark.slow
def test_cli_writes_a_scored_ensemble_that_exports_to_int8(members, tmp_path, tiny_zip):
    out = tmp_path / "pair"
    result = run_module("train", "ensemble", *map(str, members), "--out", out, "--data", tiny_zip)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"run": str(out)}
    assert read_card(out).metrics["n"] == 24  # tiny_zip's test split
    exported = run_module("train", "export", "--model", out, "--quantize", "int8")
    assert exported.returncode == 0, exported.stderr
    faces_like_training = np.stack([fake_face(100 + i, i % 4) for i in range(9)])[..., None]
    lite = Predictor.load(out / "model.int8.tflite").classify(faces_like_training)
    np.testing.assert_allclose(lite, Predictor.load(out).classify(faces_like_training), atol=0.1)


def test_explanations_average_each_members_grad_cam(members, tmp_path):
    from emotion_core.classify.explain import Explainer

    explainer = Explainer(Predictor.load(ensemble([str(m) for m in members], tmp_path / "pair")).model)
    x, classes = faces(3), [0, 3, 6]
    maps = explainer.heatmaps(x, classes)
    alone = [Explainer(Predictor.load(m).model).heatmaps(x, classes) for m in members]
    expected = np.mean(alone, axis=0)
    expected /= np.maximum(expected.max(axis=(1, 2), keepdims=True), 1e-12)
    assert explainer.method == "grad-cam" and maps.shape == (3, 48, 48) and maps.max() > 0
    np.testing.assert_allclose(maps, expected, atol=1e-4)
