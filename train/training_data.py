"""What a training run reads: the dataset, its faces and targets (one-hot or mixed with FER+ votes), train and
validation, and the starting weights when fine-tuning."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from emotion_core.data.datasets import Dataset, FaceChoice, Loaded, carve_split, open_dataset
from emotion_core.data.layouts.base import Sample
from emotion_core.data.photo_crops import CropCache, PhotoCropper
from emotion_core.data.votes import Votes, read_votes
from emotion_core.errors import EmptySplitError
from emotion_core.vision.align import PreprocessConfig
from train.config import TrainConfig
from train.finetune import initial_model
from train.teacher_cache import cached_answers
from train.teachers import blend, load_teacher

logger = logging.getLogger(__name__)

Split = tuple[np.ndarray, np.ndarray, np.ndarray]  # faces, folder-label indices, targets (n x classes)


@dataclass
class TrainingData:
    """Everything ``fit`` trains and validates on, loaded once."""

    config: TrainConfig  # the architecture is the starting weights' when fine-tuning
    labels: list[str]
    faces: FaceChoice
    train: Split
    val: Split | None
    initial: Any = None  # the fine-tune's starting model (Keras), or None to build a fresh one


def load_training_data(config: TrainConfig) -> TrainingData:
    """Open the dataset, choose how faces are read, and load train and validation as arrays."""
    dataset = open_dataset(config.data)
    for ref, reason in dataset.rejected:  # listed nowhere else: malformed CSV rows, unsafe zip names
        logger.info(f"skipped {ref}: {reason}")
    if config.person_split:
        dataset = config.person_split.apply(dataset)
        counts = dataset.counts().sum()
        logger.info(f"split by person: {counts.get('train', 0)} train, {counts.get('test', 0)} test images")
    choice = dataset.choose_faces(config.faces, PreprocessConfig().size)
    logger.info(f"faces: {choice}")
    cropper = PhotoCropper(PreprocessConfig(), cache=CropCache()) if choice.mode == "detect" else None
    labels, initial = dataset.classes, None
    if config.init:
        initial, labels, architecture = initial_model(config.init, labels)
        config = replace(config, architecture=architecture)  # the weights decide it, not the default flag
    votes = read_votes(config.votes) if config.votes else None
    train_samples, val_samples = _split_samples(dataset, config)
    train = _load_split(dataset, train_samples, labels, votes, config.votes_weight, cropper)
    if config.teachers:
        train = with_teacher_targets(train, config, labels)
    val = _load_validation(dataset, val_samples, labels, votes, config.votes_weight, cropper)
    return TrainingData(config, labels, choice, train, val, initial)


def _split_samples(dataset: Dataset, config: TrainConfig) -> tuple[list[Sample], list[Sample]]:
    """(train, validation) samples; 'val' is carved from the training split when the data has none."""
    train = dataset.split_samples(config.train_split)
    if not config.val_split:
        return train, []
    if config.val_split in dataset.splits:
        return train, dataset.split_samples(config.val_split)
    if config.val_split != "val" or config.val_fraction <= 0:
        return train, []
    carved = carve_split(train, config.val_fraction, config.seed, config.val_split)
    val = [s for s in carved if s.split == config.val_split]
    logger.info(f"validation: {len(val)} images carved from '{config.train_split}' (seed {config.seed})")
    return [s for s in carved if s.split != config.val_split], val


def _load_split(
    dataset: Dataset,
    samples: list[Sample],
    labels: list[str],
    votes: Votes | None,
    weight: float,
    cropper: PhotoCropper | None = None,
) -> Split:
    """(x, y folder-label indices, targets n x classes): one-hot, or mixed with the image's vote share."""
    split = samples[0].split if samples else "?"
    if votes is not None:
        kept = [s for s in samples if votes.distribution(s.ref, labels) is not None]
        logger.info(f"votes: {len(samples) - len(kept)} of {len(samples)} {split} images have none, left out")
        samples = kept

    def progress(done: int, total: int) -> None:
        if done == total or done % 5000 == 0:
            logger.info(f"loading {split}: {done}/{total} images")

    loaded = dataset.load_faces(samples, labels, cropper, progress)
    report_left_out(loaded, split)
    if len(loaded.x) == 0:
        raise EmptySplitError(f"split '{split}' of {dataset.source} has no readable images")
    targets = np.eye(len(labels), dtype=np.float32)[loaded.y]
    if votes is not None:
        shares = np.stack([d for ref in loaded.refs if (d := votes.distribution(ref, labels)) is not None])  # all
        targets = weight * shares + (1 - weight) * targets
    return loaded.x, loaded.y, targets


def with_teacher_targets(split: Split, config: TrainConfig, labels: list[str]) -> Split:
    """The split with ``teacher_weight`` of each target replaced by the teachers' blended answer on its face."""
    teachers = [load_teacher(spec, labels) for spec in config.teachers]
    teacher = blend([cached_answers(t, split[0]) for t in teachers], config.teacher_blend)
    agree = float((teacher.argmax(axis=1) == split[1]).mean()) if len(split[1]) else 0.0
    logger.info(f"teachers {', '.join(t.name for t in teachers)} agree with {agree:.1%} of the training labels")
    w = config.teacher_weight
    return split[0], split[1], (w * teacher + (1 - w) * split[2]).astype(np.float32)


def _load_validation(dataset: Dataset, samples: list[Sample], *args: Any) -> Split | None:
    """The validation split, or None when it is empty or unreadable: a run is still worth finishing without it."""
    if not samples:
        return None
    try:
        return _load_split(dataset, samples, *args)
    except EmptySplitError as error:
        logger.info(f"no validation: {error}")
        return None


def report_left_out(loaded: Loaded, split: str) -> None:
    """Print every image that did not become a training input (and photos with several faces), with why."""
    for ref, error in loaded.bad:
        logger.info(f"skipped {ref}: {error}")
    for sample in loaded.no_face:
        logger.info(f"skipped {sample.ref}: no face found")
    for ref, count in loaded.several:
        logger.info(f"several faces: {ref} has {count}, the largest was used")
    if loaded.no_face or loaded.several:
        logger.info(f"{split}: {len(loaded.no_face)} photos without a face, {len(loaded.several)} with several")
