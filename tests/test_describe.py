"""A model card in words (emotion_core.classify.describe): the shipped model's and edge cases, from the card alone."""

from dataclasses import replace

from emotion_core.classify.card import ModelCard
from emotion_core.classify.describe import describe_card
from emotion_core.classify.registry import read_card
from emotion_core.classify.views import TestTimeViews
from emotion_core.vision.align import PreprocessConfig


def all_words(card: ModelCard) -> str:
    words = describe_card(card)
    return " ".join([words.architecture, words.training, words.classes, *words.accuracy, words.preprocessing])


def test_the_shipped_models_card_in_words():
    card = read_card("default")
    words = describe_card(card)
    assert words.architecture.startswith("vgg: VGG-style")  # from the architecture module's docstring
    assert f"{card.training['train_images']:,} images from fer2013.zip" in words.training
    assert words.classes == "7 emotions, in output order: angry, disgust, fear, happy, sad, surprise, neutral."
    assert words.accuracy[0].startswith(f"{card.metrics['accuracy']:.1%} right on 3,589 held-out images")
    assert "turned so the eyes are level" in words.preprocessing
    assert "read 6 ways" in words.answers and "disgust counts" in words.answers
    assert "../" not in all_words(card) and "Config(" not in all_words(card)


def test_a_plain_model_in_words():
    card = ModelCard(
        name="plain",
        labels=("happy", "sad"),
        preprocess=PreprocessConfig(margin=0.2, align=False),
        views=TestTimeViews(),
        architecture="mystery",
    )
    words = describe_card(card)
    assert words.architecture == "mystery (not a network this version can build)."
    assert words.training == "Not recorded in the model's card."
    assert words.accuracy == ("Not measured yet: score it on the Evaluate page.",)
    assert "20% extra on every side, then made grey" in words.preprocessing  # no eye alignment
    assert words.answers == "Each face is read once."


def test_an_ensemble_names_its_members():
    card = replace(read_card("default"), architecture="ensemble", training={"members": ["alpha", "beta"]})
    assert describe_card(card).architecture.startswith("An ensemble of 2 models (alpha, beta)")
