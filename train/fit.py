"""``python -m train fit``: load, build, train (with per-epoch checkpoints and resume), evaluate, save."""

from __future__ import annotations

import json
import logging
import math
import os
import time
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
from emotion_core.classify.run_folder import STATE_FILE as STATE
from emotion_core.classify.run_folder import run_name
from emotion_core.data.datasets import Dataset, FaceChoice, Loaded, Sample, carve_split, open_dataset
from emotion_core.data.evaluate import score
from emotion_core.data.photo_crops import CropCache, PhotoCropper
from emotion_core.data.votes import Votes, read_votes
from emotion_core.errors import EmptySplitError
from emotion_core.files import replace_atomically, write_json_atomic
from emotion_core.paths import runs_dir
from emotion_core.vision.align import PreprocessConfig
from train.config import TrainConfig
from train.distribute import global_batch_size, strategy_for
from train.finetune import initial_model

# Progress lines (one per epoch, loading, skipped files): the train CLI sends them to stdout unadorned, where the
# Train page reads them from train.log. A library caller gets them through its own logging set-up.
logger = logging.getLogger(__name__)


def fit(config: TrainConfig, run_dir: Path | None = None, resume: bool = False) -> Path:
    """Train per ``config`` into ``run_dir``; with ``resume`` continue from its last finished epoch."""
    config.validate()
    run_dir = Path(run_dir or config.out or runs_dir() / run_name(config.architecture))
    run_dir.mkdir(parents=True, exist_ok=True)
    strategy = strategy_for(config.distribute)  # first: the multi-worker strategy must start before other TF work
    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy(config.precision)

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
    labels = dataset.classes
    if config.init:
        initial, labels, architecture = initial_model(config.init, labels)
        config = replace(config, architecture=architecture)  # the weights decide it, not the default flag
    votes = read_votes(config.votes) if config.votes else None
    train_samples, val_samples = _split_samples(dataset, config)
    x_train, _, t_train = _load_split(dataset, train_samples, labels, votes, config.votes_weight, cropper)
    val = _load_validation(dataset, val_samples, labels, votes, config.votes_weight, cropper)

    start_epoch = 0
    with strategy.scope():  # variables made here are mirrored on every replica
        if resume and (run_dir / CHECKPOINT).exists():
            model = keras.models.load_model(run_dir / CHECKPOINT)
            start_epoch = json.loads((run_dir / STATE).read_text())["epoch"]
            trim_log(run_dir / LOG, start_epoch)
            logger.info(f"resuming {run_dir} after epoch {start_epoch}/{config.epochs}")
        else:
            model = initial if config.init else build_model(config.architecture, len(labels))
            model.compile(
                optimizer=keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay),
                loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                metrics=["accuracy"],
            )
            (run_dir / LOG).unlink(missing_ok=True)
    write_json_atomic(run_dir / CONFIG, config.to_dict())
    _write_state(run_dir, "running", start_epoch, config.epochs)

    # Per-replica batch size in, global batch out: each step feeds every replica config.batch_size images.
    data_config = replace(config, batch_size=global_batch_size(config.batch_size, strategy))
    train_data = _tf_dataset(x_train, t_train, data_config, training=True)
    val_data = _tf_dataset(val[0], val[2], data_config, training=False) if val else None
    try:
        model.fit(
            train_data,
            validation_data=val_data,
            epochs=config.epochs,
            initial_epoch=start_epoch,
            verbose=0,
            shuffle=False,  # the tf.data pipeline reshuffles every epoch itself
            callbacks=[
                keras.callbacks.LearningRateScheduler(lambda epoch: learning_rate_at(epoch, config)),
                keras.callbacks.CSVLogger(str(run_dir / LOG), append=True),
                EpochCheckpoint(run_dir, config.epochs),
            ],
        )
    except KeyboardInterrupt:
        _write_state(run_dir, "interrupted", _last_epoch(run_dir), config.epochs)
        raise
    except Exception:
        _write_state(run_dir, "failed", _last_epoch(run_dir), config.epochs)
        raise

    inference = _float32_copy(model, config.architecture, len(labels))
    card = _card(run_dir, config, labels, len(x_train), choice)
    if config.prior_correction:
        card = replace(card, class_weights=prior_weights(t_train, config.label_smoothing))
    if val:
        predicted = Predictor(inference, card).classify_all(val[0]).argmax(axis=1)
        card = replace(card, metrics=score(val[1], predicted, labels))
    save_run(run_dir, inference, card.to_metadata())
    _write_state(run_dir, "finished", config.epochs, config.epochs)
    return run_dir


def learning_rate_at(epoch: int, config: TrainConfig) -> float:
    """Linear warm-up then cosine decay, a pure function of the epoch so a resumed run follows the same curve."""
    if epoch < config.warmup_epochs:
        return config.learning_rate * (epoch + 1) / (config.warmup_epochs + 1)
    span = max(1, config.epochs - config.warmup_epochs)
    progress = (epoch - config.warmup_epochs) / span
    return config.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


def trim_log(path: Path, epochs: int) -> None:
    """Keep log.csv's header and its complete rows for epochs 0..epochs-1, dropping the rest.

    A run killed (SIGKILL, power loss) after CSVLogger wrote epoch k's row but before epoch k's
    checkpoint landed resumes at epoch k again; without this its row would appear twice, and a
    row cut mid-write would merge with the next one.
    """
    try:
        lines = path.read_text().split("\n")
    except OSError:
        return
    header = lines[:1] if len(lines) > 1 else []  # no newline at all: even the header was cut short
    rows: dict[int, str] = {}  # epoch -> its last complete row (a re-run epoch's row replaces the first)
    for line in lines[1:-1]:  # the last piece has no newline after it: empty, or a row cut short
        first = line.split(",", 1)[0]
        if first.isdigit() and int(first) < epochs:
            rows[int(first)] = line
    text = "".join(line + "\n" for line in header + [rows[e] for e in sorted(rows)])
    replace_atomically(path, lambda tmp: tmp.write_text(text))


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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _load_validation(
    dataset: Dataset, samples: list[Sample], *args: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
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


def _tf_dataset(x: np.ndarray, targets: np.ndarray, config: TrainConfig, training: bool) -> Any:
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, targets))
    if training:
        data = data.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
    data = data.batch(config.batch_size)
    data = data.map(lambda images, y: (tf.cast(images, tf.float32), y))
    if training and config.augment:
        data = data.map(_augment)
    if training and config.photo_augment:
        data = data.map(_photo_augment)
    if training and config.erase:
        data = data.map(lambda images, y: (random_erase(images, config.erase), y))
    if training and config.mixup:
        data = data.map(lambda images, y: mixup(images, y, config.mixup))
    return data.prefetch(tf.data.AUTOTUNE)


def _augment(images: Any, labels: Any) -> tuple[Any, Any]:
    """Flip, rotation (+-10 deg), zoom (+-10%), shift (+-10%) as ONE affine warp per image, then contrast.

    One combined warp costs a third of Keras's three separate random layers, which on 2 cores
    took as long as the network's own training step.
    """
    import tensorflow as tf

    n = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)
    angle = tf.random.uniform([n], -0.175, 0.175)
    scale = tf.random.uniform([n], 0.9, 1.1)
    flip = tf.where(tf.random.uniform([n]) < 0.5, -1.0, 1.0)
    shift = tf.random.uniform([n, 2], -0.1, 0.1) * size
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    centre = (size - 1) / 2
    # Output pixel (x, y) samples input (a0*x + a1*y + a2, b0*x + b1*y + b2): rotate+zoom about the centre.
    a0, a1 = cos * flip, -sin
    b0, b1 = sin * flip, cos
    a2 = centre - a0 * centre - a1 * centre + shift[:, 0]
    b2 = centre - b0 * centre - b1 * centre + shift[:, 1]
    zeros = tf.zeros([n])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )
    mean = tf.reduce_mean(warped, axis=[1, 2, 3], keepdims=True)
    contrast = tf.random.uniform([n, 1, 1, 1], 0.8, 1.2)
    brightness = tf.random.uniform([n, 1, 1, 1], -20.0, 20.0)
    return tf.clip_by_value((warped - mean) * contrast + mean + brightness, 0.0, 255.0), labels


def _photo_augment(images: Any, labels: Any) -> tuple[Any, Any]:
    """What a camera does to a face that FER2013's web crops rarely show: exposure (gamma), blur and sensor noise.

    Per image: gamma in [0.6, 1.7] (log-uniform), a blur mixed in at a random strength on half the images, and
    Gaussian noise of sigma up to 8 grey levels. Cheap batched ops, a few percent of a training step.
    """
    import tensorflow as tf

    n = tf.shape(images)[0]
    gamma = tf.exp(tf.random.uniform([n, 1, 1, 1], tf.math.log(0.6), tf.math.log(1.7)))
    images = 255.0 * tf.pow(images / 255.0, gamma)
    kernel = tf.constant([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # binomial ~ Gaussian, sigma 1 px
    kernel = tf.reshape(tf.tensordot(kernel, kernel, axes=0), [5, 5, 1, 1])
    blurred = tf.nn.conv2d(tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="SYMMETRIC"), kernel, 1, "VALID")
    strength = tf.random.uniform([n, 1, 1, 1]) * tf.cast(tf.random.uniform([n, 1, 1, 1]) < 0.5, tf.float32)
    images = images + strength * (blurred - images)
    sigma = tf.random.uniform([n, 1, 1, 1], 0.0, 8.0)
    images = images + sigma * tf.random.normal(tf.shape(images))
    return tf.clip_by_value(images, 0.0, 255.0), labels


def random_erase(images: Any, share: float) -> Any:
    """Blank one random rectangle (5-25 % of the face, aspect 1:2 to 2:1) to the image's mean grey, in ``share`` of
    the images.

    FER2013's faces are mostly strong, open-mouthed expressions, so a network can name them from the mouth alone;
    a posed or subtle face on a real photo often shows its expression in the brows and eyes. Hiding a part of the
    face at random (Zhong et al., "Random Erasing Data Augmentation", 2017) makes every region count. Off by
    default: on the shipped model it cost 1.7 TCFE points (benchmarks/RESULTS.md).
    """
    import tensorflow as tf

    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    size = tf.cast(height, tf.float32)  # faces are square
    area = tf.random.uniform([n], 0.05, 0.25) * size * size
    aspect = tf.exp(tf.random.uniform([n], tf.math.log(0.5), tf.math.log(2.0)))
    rows = tf.minimum(tf.sqrt(area * aspect), size)
    cols = tf.minimum(tf.sqrt(area / aspect), size)
    top = tf.random.uniform([n]) * (size - rows)
    left = tf.random.uniform([n]) * (size - cols)
    y = tf.cast(tf.range(height), tf.float32)[None, :, None]
    x = tf.cast(tf.range(width), tf.float32)[None, None, :]
    inside = (
        (y >= top[:, None, None])
        & (y < (top + rows)[:, None, None])
        & (x >= left[:, None, None])
        & (x < (left + cols)[:, None, None])
    )
    chosen = tf.random.uniform([n, 1, 1]) < share
    mask = tf.cast(inside & chosen, images.dtype)[..., None]
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return images * (1 - mask) + mean * mask


def mixup(images: Any, targets: Any, alpha: float) -> tuple[Any, Any]:
    """Blend each face with another face of the batch, and its target with that face's, in a Beta(alpha, alpha)
    share (Zhang et al., "mixup", 2018).

    The network is asked for answers between two expressions, on faces between them: it learns to grade how much
    of each it sees instead of only which one. Off by default: on the shipped model it cost 1.3 TCFE points
    (benchmarks/RESULTS.md).
    """
    import tensorflow as tf

    n = tf.shape(images)[0]
    first, second = tf.random.gamma([n], alpha), tf.random.gamma([n], alpha)
    share = first / tf.maximum(first + second, 1e-12)  # Beta(alpha, alpha) from two Gammas
    partner = tf.random.shuffle(tf.range(n))
    blend = share[:, None, None, None]
    images = blend * images + (1 - blend) * tf.gather(images, partner)
    targets = share[:, None] * targets + (1 - share[:, None]) * tf.gather(targets, partner)
    return images, targets


def _float32_copy(model: Any, architecture: str, num_classes: int) -> Any:
    """The trained weights in a float32 model without optimizer state: small, and fast on any CPU."""
    keras.mixed_precision.set_global_policy("float32")
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


def _write_state(run_dir: Path, status: str, epoch: int, epochs: int) -> None:
    write_json_atomic(run_dir / STATE, {"status": status, "epoch": epoch, "epochs": epochs, "pid": os.getpid()})


def _last_epoch(run_dir: Path) -> int:
    try:
        return json.loads((run_dir / STATE).read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model + optimizer after every epoch (atomically) and prints one progress line per epoch."""

    def __init__(self, run_dir: Path, epochs: int) -> None:
        super().__init__()
        self.run_dir, self.epochs = run_dir, epochs

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        replace_atomically(self.run_dir / CHECKPOINT, self.model.save)
        _write_state(self.run_dir, "running", epoch + 1, self.epochs)
        seconds = time.monotonic() - self.started
        figures = " ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        eta = seconds * (self.epochs - epoch - 1)
        logger.info(f"epoch {epoch + 1}/{self.epochs} {figures} {seconds:.0f}s eta {eta / 60:.1f}min")
