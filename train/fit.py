"""``python -m train fit``: load, build, train (with per-epoch checkpoints and resume), evaluate, save."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np

from emotion_core.classify.card import ModelCard
from emotion_core.classify.network import build_model, save_run
from emotion_core.classify.predictor import Predictor
from emotion_core.classify.run_folder import CHECKPOINT_FILE as CHECKPOINT
from emotion_core.classify.run_folder import CONFIG_FILE as CONFIG
from emotion_core.classify.run_folder import LOG_FILE as LOG
from emotion_core.classify.run_folder import run_name
from emotion_core.data.datasets import FaceChoice
from emotion_core.data.evaluate import score
from emotion_core.files import write_json_atomic
from emotion_core.paths import runs_dir
from emotion_core.vision.align import PreprocessConfig
from train.augment import steps_per_epoch, tf_dataset
from train.config import TrainConfig
from train.distribute import global_batch_size, strategy_for
from train.run_state import (
    EpochCheckpoint,
    finished_epochs,
    last_epoch,
    restore_random_state,
    trim_log,
    write_state,
)
from train.training_data import TrainingData, load_training_data

# Progress lines (one per epoch, loading, skipped files): the train CLI sends them to stdout unadorned, where the
# Train page reads them from train.log. A library caller gets them through its own logging set-up.
logger = logging.getLogger(__name__)


def fit(
    config: TrainConfig, run_dir: Path | None = None, resume: bool = False, data: TrainingData | None = None
) -> Path:
    """Train per ``config`` into ``run_dir``; with ``resume`` continue from its last finished epoch.

    ``data`` replaces loading ``config.data``: a recipe that assembles its faces and targets itself (train.distill).
    """
    config.validate()
    run_dir = Path(run_dir or config.out or runs_dir() / run_name(config.architecture))
    run_dir.mkdir(parents=True, exist_ok=True)
    strategy = strategy_for(config.distribute)  # first: the multi-worker strategy must start before other TF work
    keras.utils.set_random_seed(config.seed)
    with precision_policy(config.precision):
        data = data or load_training_data(config)
        config = data.config
        with strategy.scope():  # variables made here are mirrored on every replica
            model, start_epoch = (
                _resumed(run_dir, data, global_batch_size(config.batch_size, strategy))
                if resume and (run_dir / CHECKPOINT).exists()
                else (_compiled(data), 0)
            )
        write_json_atomic(run_dir / CONFIG, config.to_dict())
        write_state(run_dir, "running", start_epoch, config.epochs)
        # Per-replica batch size in, global batch out: each step feeds every replica config.batch_size images.
        batches = replace(config, batch_size=global_batch_size(config.batch_size, strategy))
        _train(model, data, batches, run_dir, start_epoch)
    inference = _float32_copy(model, config.architecture, len(data.labels))
    save_run(run_dir, inference, _evaluated_card(inference, data, run_dir).to_metadata())
    write_state(run_dir, "finished", config.epochs, config.epochs)
    if not config.keep_checkpoint:  # nothing left to resume: the checkpoint is disk (~21 MB) for nothing
        (run_dir / CHECKPOINT).unlink(missing_ok=True)
    return run_dir


@contextmanager
def precision_policy(name: str) -> Iterator[None]:
    """Keras's global precision policy set to ``name`` for the block, and restored however it ends."""
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _compiled(data: TrainingData) -> Any:
    """A fresh (or fine-tune's starting) model, compiled with this run's optimizer and loss."""
    config = data.config
    model = data.initial if data.initial is not None else build_model(config.architecture, len(data.labels))
    model.compile(
        optimizer=keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return model


def _resumed(run_dir: Path, data: TrainingData, batch_size: int) -> tuple[Any, int]:
    """The last checkpoint (model, optimizer and dropout state) and the number of epochs it finished."""
    model = keras.models.load_model(run_dir / CHECKPOINT)
    start_epoch = finished_epochs(model, run_dir, steps_per_epoch(len(data.train[0]), batch_size))
    restore_random_state(model, run_dir, start_epoch)
    trim_log(run_dir / LOG, start_epoch)
    logger.info(f"resuming {run_dir} after epoch {start_epoch}/{data.config.epochs}")
    return model, start_epoch


def _train(model: Any, data: TrainingData, config: TrainConfig, run_dir: Path, start_epoch: int) -> None:
    """Epochs ``start_epoch``..``config.epochs`` with per-epoch checkpoints; the state file says how it ended."""
    if start_epoch == 0:
        (run_dir / LOG).unlink(missing_ok=True)
    val = tf_dataset(data.val[0], data.val[2], config, training=False) if data.val else None
    try:
        model.fit(
            tf_dataset(data.train[0], data.train[2], config, training=True, start_epoch=start_epoch),
            validation_data=val,
            epochs=config.epochs,
            initial_epoch=start_epoch,
            # One iterator runs through every remaining epoch (without this Keras re-creates it each epoch): the
            # pipeline itself knows which epoch each batch belongs to.
            steps_per_epoch=steps_per_epoch(len(data.train[0]), config.batch_size),
            verbose=0,
            shuffle=False,  # the tf.data pipeline reshuffles every epoch itself
            callbacks=[
                keras.callbacks.LearningRateScheduler(lambda epoch: learning_rate_at(epoch, config)),
                keras.callbacks.CSVLogger(str(run_dir / LOG), append=True),
                EpochCheckpoint(run_dir, config.epochs),
            ],
        )
    except KeyboardInterrupt:
        write_state(run_dir, "interrupted", last_epoch(run_dir), config.epochs)
        raise
    except Exception:
        write_state(run_dir, "failed", last_epoch(run_dir), config.epochs)
        raise


def _evaluated_card(inference: Any, data: TrainingData, run_dir: Path) -> ModelCard:
    """The run's model card, with class weights from its targets and validation metrics where it has them."""
    config = data.config
    card = _card(run_dir, config, data.labels, len(data.train[0]), data.faces)
    if config.prior_correction:
        card = replace(card, class_weights=prior_weights(data.train[2], config.label_smoothing))
    if data.val:
        predicted = Predictor(inference, card).classify_all(data.val[0]).argmax(axis=1)
        card = replace(card, metrics=score(data.val[1], predicted, data.labels))
    return card


def learning_rate_at(epoch: int, config: TrainConfig) -> float:
    """Linear warm-up then cosine decay, a pure function of the epoch so a resumed run follows the same curve."""
    if epoch < config.warmup_epochs:
        return config.learning_rate * (epoch + 1) / (config.warmup_epochs + 1)
    span = max(1, config.epochs - config.warmup_epochs)
    progress = (epoch - config.warmup_epochs) / span
    return config.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


def _float32_copy(model: Any, architecture: str, num_classes: int) -> Any:
    """The trained weights in a float32 model without optimizer state: small, and fast on any CPU."""
    with precision_policy("float32"):
        inference = build_model(architecture, num_classes)
    inference.set_weights(model.get_weights())
    return inference


def prior_weights(targets: np.ndarray, label_smoothing: float = 0.0) -> tuple[float, ...]:
    """1 / each class's share of what the network was trained to output, the most common class at 1.

    A network's scores carry its training targets' class balance (FER2013: 1.5 % disgust); dividing by it
    (logit adjustment) asks "which class is this face most like" instead of "which class is most common",
    what a balanced photo set needs. The balance is that of the targets as the loss saw them: with FER+ votes
    mixed in, neutral is 22 % of them at weight 0.3 and 27 % at 0.6 where it is 17 % of FER2013's labels, and
    smoothing adds 1/classes to every share.
    """
    share = targets.astype(np.float64).mean(axis=0)
    share = (1 - label_smoothing) * share + label_smoothing / targets.shape[1]
    weights = share.max() / np.maximum(share, 1.0 / len(targets))  # an absent class counts as one image
    return tuple(round(float(w), 4) for w in weights)


def _card(run_dir: Path, config: TrainConfig, labels: list[str], n_train: int, faces: FaceChoice) -> ModelCard:
    return ModelCard(
        name=run_dir.name,
        labels=tuple(labels),
        preprocess=PreprocessConfig(),
        faces=faces.mode,
        views=config.views,
        architecture=config.architecture,
        training={**config.to_dict(), "train_images": n_train},
        created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        init=config.init,
    )
