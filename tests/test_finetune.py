"""Fine-tuning with --init: weights carried over, a new class (contempt) added to the output layer."""

import json

import numpy as np
import pytest

from emotion_core.classify.network import build_model, load_run
from emotion_core.classify.predictor import Predictor
from tests.conftest import jpeg_bytes, make_dataset_files, write_zip
from train.config import TrainConfig
from train.finetune import transfer_weights
from train.fit import fit


def contempt_face(seed: int) -> np.ndarray:
    """Bright all over with a dark bar: nothing like the dark, striped fake faces of the other classes."""
    image = np.random.default_rng(seed).integers(180, 255, (48, 48), dtype=np.uint8)
    image[30:36, :] = 0
    return image


@pytest.fixture(scope="module")
def contempt_zip(tmp_path_factory):
    files = make_dataset_files({"angry": 4, "happy": 4, "sad": 4, "neutral": 4}, seed=50)
    for split in ("train", "test"):
        files |= {f"{split}/contempt/{i:03d}.jpg": jpeg_bytes(contempt_face(i + 1)) for i in range(12)}
    return write_zip(tmp_path_factory.mktemp("contempt") / "contempt.zip", files)


def test_output_layer_grows_with_known_columns_copied(tiny_run):
    source, card = load_run(tiny_run)
    labels = ["angry", "happy", "sad", "neutral", "contempt"]
    target = build_model("tiny", len(labels))
    fresh_kernel = target.layers[-2].get_weights()[0].copy()
    transfer_weights(source, list(card.labels), target, labels)
    old_kernel, old_bias = source.layers[-2].get_weights()
    kernel, bias = target.layers[-2].get_weights()
    np.testing.assert_array_equal(kernel[:, :4], old_kernel)
    np.testing.assert_array_equal(bias[:4], old_bias)
    np.testing.assert_array_equal(kernel[:, 4], fresh_kernel[:, 4])
    assert bias[4] == 0
    np.testing.assert_array_equal(target.layers[2].get_weights()[0], source.layers[2].get_weights()[0])


def test_fine_tune_on_data_with_contempt_learns_it(tiny_run, contempt_zip, tmp_path):
    config = TrainConfig(
        data=str(contempt_zip),
        init=str(tiny_run),
        architecture="vgg",
        epochs=8,
        batch_size=8,
        learning_rate=0.01,
        warmup_epochs=0,
        augment=False,
        test_time_flip=False,
    )
    run = fit(config, tmp_path / "tuned")
    metadata = json.loads((run / "metadata.json").read_text())
    assert metadata["labels"] == ["angry", "happy", "sad", "neutral", "contempt"]
    assert metadata["init"] == str(tiny_run) and metadata["architecture"] == "tiny"

    predictor = Predictor.load(run)
    faces = np.stack([contempt_face(1000 + i) for i in range(20)])[..., None]
    predicted = [predictor.labels[i] for i in predictor.classify(faces).argmax(axis=1)]
    assert predicted.count("contempt") / len(predicted) > 1 / 5, predicted


def test_unknown_init_is_refused_before_training(contempt_zip):
    with pytest.raises(ValueError, match="--init: no model 'nope'"):
        TrainConfig(data=str(contempt_zip), init="nope").validate()
