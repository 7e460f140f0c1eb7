"""The model card: validation of metadata.json, old files still loading, round trip, prior correction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emotion_core.classify.card import ModelCard
from emotion_core.classify.registry import read_card
from emotion_core.errors import ModelLoadError
from emotion_core.labels import EMOTIONS
from emotion_core.paths import DEFAULT_MODEL_DIR


def test_an_old_minimal_metadata_file_loads_with_todays_defaults():
    card = ModelCard.from_metadata({"labels": ["happy", "sad"]})
    assert card.labels == ("happy", "sad") and card.input_size == 48
    assert card.views.count == 1 and card.class_weights is None and card.preprocess.margin == 0.1


def test_the_shipped_card_round_trips_without_losing_keys():
    raw = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text())
    card = read_card()
    assert card.labels == EMOTIONS and card.views.count == 6
    assert ModelCard.from_metadata(card.to_metadata()) == card
    assert set(raw) - {"color"} <= set(card.to_metadata())  # unknown keys (init_training) are kept


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"labels": []},
        {"labels": "happy"},
        {"labels": ["happy"], "input_size": "48"},
        {"labels": ["happy", "sad"], "inference": {"class_weights": [1.0]}},
        {"labels": ["happy", "sad"], "inference": {"zooms": "wide"}},
    ],
)
def test_invalid_metadata_is_refused_with_one_line(metadata):
    with pytest.raises(ModelLoadError) as caught:
        ModelCard.from_metadata(metadata, source="x/metadata.json")
    assert "x/metadata.json" in str(caught.value) and "\n" not in str(caught.value)


def test_class_weights_reweigh_and_renormalise():
    card = ModelCard.from_metadata({"labels": ["a", "b"], "inference": {"class_weights": [1.0, 3.0]}})
    out = card.calibrate(np.array([[0.5, 0.5], [0.9, 0.1]]))
    np.testing.assert_allclose(out, [[0.25, 0.75], [0.75, 0.25]])
    assert ModelCard.from_metadata(card.to_metadata()).class_weights == (1.0, 3.0)


def test_prior_weights_invert_the_training_balance():
    from train.fit import prior_weights

    one_hot = np.eye(4)[[0, 0, 0, 0, 1, 2, 2]]
    assert prior_weights(one_hot) == (1.0, 4.0, 2.0, 4.0)  # an absent class is weighted as a single image


def test_prior_weights_follow_soft_targets_and_smoothing():
    from train.fit import prior_weights

    votes = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # shares 1/4, 1/2, 1/4
    assert prior_weights(votes) == (2.0, 1.0, 2.0)
    smoothed = prior_weights(votes, label_smoothing=0.3)  # shares 0.275, 0.45, 0.275
    np.testing.assert_allclose(smoothed, (0.45 / 0.275, 1.0, 0.45 / 0.275), atol=1e-4)
