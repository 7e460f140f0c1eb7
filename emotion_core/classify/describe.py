"""A model card in plain words, for people: what the network is, what it learned from, how well it does, and
what happens to a face before the network sees it. The Home page shows it; numbers come from the card alone.

Paths in the card (the training data's location on the machine that trained it) are shown by file name only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from emotion_core.classify.architectures import ENSEMBLE, summary
from emotion_core.classify.card import ModelCard


@dataclass(frozen=True)
class CardInWords:
    architecture: str
    training: str
    classes: str
    accuracy: tuple[str, ...]  # one sentence per figure: held-out accuracy, validation accuracy, best/worst class
    preprocessing: str
    answers: str  # test-time views and prior correction


def describe_card(card: ModelCard) -> CardInWords:
    return CardInWords(
        architecture=architecture_words(card),
        training=training_words(card),
        classes=f"{len(card.labels)} emotions, in output order: {', '.join(card.labels)}.",
        accuracy=accuracy_words(card),
        preprocessing=preprocessing_words(card),
        answers=answer_words(card),
    )


def architecture_words(card: ModelCard) -> str:
    if card.architecture == ENSEMBLE:
        members = card.training.get("members") or []
        return f"An ensemble of {len(members)} models ({', '.join(members)}): it answers with their consensus."
    what = summary(card.architecture)
    return f"{card.architecture}: {what}" if what else f"{card.architecture} (not a network this version can build)."


def training_words(card: ModelCard) -> str:
    training = card.training
    if card.architecture == ENSEMBLE:
        return "Not trained itself: its members were, each on its own run (see their cards)."
    if not training:
        return "Not recorded in the model's card."
    parts = [f"{_count(training.get('train_images'), 'image')} from {_file_name(training.get('data'))}"]
    if training.get("epochs"):
        parts.append(f"for {training['epochs']} epochs")
    words = "Trained on " + " ".join(parts) + "."
    if training.get("votes"):
        weight = float(training.get("votes_weight", 1.0))
        words += f" Targets mix annotators' votes ({_file_name(training['votes'])}, {weight:.0%}) with the labels."
    if card.init:
        words += f" Fine-tuned from: {card.init}."
    return words


def accuracy_words(card: ModelCard) -> tuple[str, ...]:
    metrics = card.metrics
    if "accuracy" not in metrics:
        return ("Not measured yet: score it on the Evaluate page.",)
    held_out = metrics.get("split") or f"the {card.training.get('val_split', 'validation')} split"
    sentences = [f"{metrics['accuracy']:.1%} right on {_count(metrics.get('n'), 'held-out image')}: {held_out}."]
    validation = card.extra.get("validation_metrics")
    if isinstance(validation, Mapping) and "accuracy" in validation:
        sentences.append(
            f"{validation['accuracy']:.1%} on {_count(validation.get('n'), 'image')} of validation data "
            "(drawn from the training set's distribution, so optimistic)."
        )
    recalls = {name: m["recall"] for name, m in (metrics.get("per_class") or {}).items() if "recall" in m}
    if len(recalls) > 1:
        best, worst = max(recalls, key=recalls.__getitem__), min(recalls, key=recalls.__getitem__)
        sentences.append(
            f"Best at {best} (finds {recalls[best]:.0%} of them), weakest at {worst} ({recalls[worst]:.0%})."
        )
    return tuple(sentences)


def preprocessing_words(card: ModelCard) -> str:
    config = card.preprocess
    crop = f"cut out square with {config.margin:.0%} extra on every side"
    if config.align:
        crop += (
            f", turned so the eyes are level and sized so they sit {config.eye_distance:.0%} of the width apart, "
            f"{config.eye_y:.0%} from the top (a face in profile is cut without turning)"
        )
    source = "ready-cut face crops" if card.faces == "crops" else "photos, cropped the same way"
    return (
        f"Each face the detector finds is {crop}, then made grey and shrunk to {card.input_size}×{card.input_size} "
        f"pixels. The model learned from {source}."
    )


def answer_words(card: ModelCard) -> str:
    views = card.views
    if views.count == 1:
        words = "Each face is read once."
    else:
        how = ["as is and mirrored" if views.mirror else "as is"]
        if len(views.zooms) > 1:
            how.append("at " + ", ".join(f"{zoom:.0%}" for zoom in views.zooms) + " zoom")
        words = f"Each face is read {views.count} ways ({', '.join(how)}) and the answers are averaged."
    weights = card.class_weights
    if weights:
        rarest = max(range(len(weights)), key=weights.__getitem__)
        words += (
            " Scores are then corrected for how rare each emotion was in training, so rare ones are not "
            f"under-called ({card.labels[rarest]} counts {weights[rarest]:.1f}× as much)."
        )
    return words


def _file_name(path: Any) -> str:
    return PurePath(str(path)).name if path else "data not recorded"


def _count(n: Any, noun: str) -> str:
    return f"{n:,} {noun}s" if isinstance(n, int) else f"an unrecorded number of {noun}s"
