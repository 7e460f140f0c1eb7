"""fit --teacher: teacher answers are cached and reused, mixed into the targets, and what the student learns."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from emotion_core.data.datasets import open_dataset
from train.config import TrainConfig
from train.teachers import ModelTeacher, blend


@pytest.fixture(scope="module")
def happy_teacher(tmp_path_factory, tiny_zip) -> Path:
    """A run folder whose model answers 'happy' for every face (softmax of a bias of 10 against 0)."""
    from emotion_core.classify.network import build_model, save_run

    labels = open_dataset(str(tiny_zip)).classes
    model = build_model("tiny", len(labels))
    kernel, _ = model.layers[-2].get_weights()  # the last Dense; softmax follows it
    bias = np.zeros(len(labels), np.float32)
    bias[labels.index("happy")] = 10.0
    model.layers[-2].set_weights([np.zeros_like(kernel), bias])
    metadata = {"labels": labels, "input_size": 48, "architecture": "tiny"}
    return save_run(tmp_path_factory.mktemp("teachers") / "always-happy", model, metadata)


@pytest.fixture
def cache_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def asked(monkeypatch) -> list[int]:
    """How many faces each call to a model teacher was asked about."""
    calls: list[int] = []
    original = ModelTeacher.probabilities

    def counted(self: ModelTeacher, faces: np.ndarray) -> np.ndarray:
        calls.append(len(faces))
        return original(self, faces)

    monkeypatch.setattr(ModelTeacher, "probabilities", counted)
    return calls


def config(tiny_zip: Path, teacher: Path, **overrides) -> TrainConfig:
    return TrainConfig(data=str(tiny_zip), architecture="tiny", teacher=str(teacher), val_split="", **overrides)


def test_teacher_answers_are_computed_once_and_read_from_the_cache_after(tiny_zip, happy_teacher, cache_home, asked):
    from train.training_data import load_training_data

    first = load_training_data(config(tiny_zip, happy_teacher))
    assert sum(asked) == len(first.train[0]) > 0
    second = load_training_data(config(tiny_zip, happy_teacher))
    assert sum(asked) == len(first.train[0]), "the second run asked the teacher again instead of reading the cache"
    np.testing.assert_array_equal(first.train[2], second.train[2])
    assert list((cache_home / "emotion-dashboard" / "teacher-targets").glob("*.npz"))


def test_targets_are_the_teacher_weight_mix_of_teacher_and_label(tiny_zip, happy_teacher, cache_home):
    from train.training_data import load_training_data

    data = load_training_data(config(tiny_zip, happy_teacher, teacher_weight=0.6))
    x, y, targets = data.train
    happy = data.labels.index("happy")
    label = np.eye(len(data.labels), dtype=np.float32)[y]
    teacher = np.zeros_like(label)
    teacher[:, happy] = 1.0
    np.testing.assert_allclose(targets, 0.6 * teacher + 0.4 * label, atol=1e-3)


def test_the_student_learns_the_teachers_answers_not_only_the_labels(tiny_zip, happy_teacher, cache_home, tmp_path):
    """A teacher that says 'happy' for every face, at weight 1: the student says 'happy' for faces of every class
    (a quarter of the labels are happy). Dropping the teacher term from the targets fails this."""
    from emotion_core.classify.predictor import Predictor
    from train.fit import fit

    overrides = dict(teacher_weight=1.0, label_smoothing=0.0, learning_rate=0.05, warmup_epochs=0, epochs=4)
    run = fit(config(tiny_zip, happy_teacher, batch_size=8, **overrides), tmp_path / "student")
    dataset = open_dataset(str(tiny_zip))
    faces = dataset.load_faces(dataset.split_samples("test"), dataset.classes).x
    said = Predictor.load(run).classify_all(faces).argmax(axis=1)
    assert (said == dataset.classes.index("happy")).mean() > 0.9


def test_two_teachers_blend_as_a_weighted_geometric_mean():
    first = np.array([[0.5, 0.5, 0.0], [0.8, 0.1, 0.1]], np.float32)
    second = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]], np.float32)
    mixed = blend([first, second], later_weight=0.5)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(mixed[1], first[1], rtol=1e-4)  # teachers that agree are unchanged
    assert mixed[0, 1] > mixed[0, 0]  # sqrt(0.5 * 0.9) against sqrt(0.5 * 0.1)
    assert mixed[0, 2] < 1e-3  # what either teacher rules out stays out


def test_the_student_recipe_joins_fer2013_and_the_pools_training_identities(tmp_path):
    from emotion_core.labels import EMOTIONS
    from train.distill import RECIPE, held_out, student_data

    k, rng = len(EMOTIONS), np.random.default_rng(0)
    votes = tmp_path / "votes.csv"
    header = "member,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
    votes.write_text(header + "train/0.png,0,10,0,0,0,0,0,0,0,0\n")  # the first face: all ten annotators say happy
    fer = {
        "x": rng.integers(0, 255, (6, 48, 48, 1), np.uint8),
        "y": np.array([0, 3, 3, 6, 4, 5]),
        "split": np.array(["train"] * 4 + ["test"] * 2),
        "refs": np.array([f"train/{i}.png" for i in range(6)]),
        "vgg": rng.dirichlet(np.ones(k), 6).astype(np.float32),
    }
    people = [f"person{i}" for i in range(40)]
    faces = {
        "x": rng.integers(0, 255, (40, 48, 48, 1), np.uint8),
        "found": np.array([i != 0 for i in range(40)]),
        "identity": np.array(people),
        "vgg": rng.dirichlet(np.ones(k), 40).astype(np.float32),
        "rafdb": rng.dirichlet(np.ones(k), 40).astype(np.float32),
    }
    data = student_data(replace(RECIPE, votes=str(votes)), fer, faces)
    kept = [i for i in range(1, 40) if not held_out(people[i])]
    assert 0 < len(kept) < 39, "the identity hash holds some people out"
    assert len(data.train[0]) == 4 + len(kept) and len(data.val[0]) == 2
    np.testing.assert_array_equal(data.train[0][4:], faces["x"][kept])
    np.testing.assert_allclose(data.train[2].sum(axis=1), 1.0, rtol=1e-5)
    hard = np.eye(k)[fer["y"][:4]]  # faces without votes: the label alone beside the teacher
    hard[0] = 0.5 * np.eye(k)[EMOTIONS.index("happy")] + 0.5 * hard[0]
    np.testing.assert_allclose(data.train[2][:4], 0.6 * fer["vgg"][:4] + 0.4 * hard, rtol=1e-5)
