"""Training-time input pipeline: tf.data batches with the augmentations ``TrainConfig`` switches on."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from train.config import TrainConfig


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches in one pass over ``n`` faces (the last one may be short)."""
    return max(1, math.ceil(n / batch_size))


def tf_dataset(x: np.ndarray, targets: np.ndarray, config: TrainConfig, training: bool, start_epoch: int = 0) -> Any:
    """Batches of (float32 faces, targets): for evaluation, or for training epochs ``start_epoch`` to
    ``config.epochs - 1`` in one stream (feed it with ``steps_per_epoch`` so Keras keeps a single iterator).

    Training data is a pure function of (seed, epoch, step): each epoch's order is a permutation drawn from
    (seed, epoch), and every random draw of a batch's augmentation from (seed, epoch, step), with stateless ops. A
    run resumed at epoch k therefore sees exactly the batches the uninterrupted run saw from epoch k on. (With
    ``shuffle(seed=...)`` and stateful ``tf.random`` ops both sequences restarted in every new process, so a resumed
    epoch k replayed epoch 0's order and warps, and the resumed run memorised them.)
    """
    import tensorflow as tf

    if not training:
        data = tf.data.Dataset.from_tensor_slices((x, targets)).batch(config.batch_size)
        return data.map(lambda images, y: (tf.cast(images, tf.float32), y)).prefetch(tf.data.AUTOTUNE)
    n, size = len(x), config.batch_size
    steps = steps_per_epoch(n, size)
    images, answers = tf.constant(x), tf.constant(targets)

    def epoch_batches(epoch: Any) -> Any:
        key = tf.stack([tf.constant(config.seed, tf.int64), epoch])
        order = tf.argsort(tf.random.stateless_uniform([n], seed=key))

        def batch(step: Any) -> Any:
            chosen = order[step * size : tf.minimum((step + 1) * size, n)]
            draws = tf.random.experimental.stateless_fold_in(key, step)
            return tf.gather(images, chosen), tf.gather(answers, chosen), draws

        return tf.data.Dataset.range(steps).map(batch)

    data = tf.data.Dataset.range(start_epoch, config.epochs).flat_map(epoch_batches)
    data = data.map(lambda images, y, key: augmented(tf.cast(images, tf.float32), y, key, config))
    return data.prefetch(tf.data.AUTOTUNE)


def augmented(images: Any, targets: Any, key: Any, config: TrainConfig) -> tuple[Any, Any]:
    """One batch through the augmentations ``config`` switches on, every draw from ``key`` (a stateless seed pair)."""
    import tensorflow as tf

    keys = tf.random.experimental.stateless_split(key, 4)
    if config.augment:
        images, targets = augment(images, targets, keys[0])
    if config.photo_augment:
        images, targets = photo_augment(images, targets, keys[1])
    if config.erase:
        images = random_erase(images, config.erase, keys[2])
    if config.mixup:
        images, targets = mixup(images, targets, config.mixup, keys[3])
    return images, targets


class Draws:
    """A batch's random draws: stateless from ``key`` (the same numbers in any process), or, without a key, from
    TensorFlow's global generator (tests, interactive use)."""

    def __init__(self, key: Any = None) -> None:
        self.key, self.count = key, 0

    def _next(self) -> Any:
        import tensorflow as tf

        self.count += 1  # counted while tracing: each draw site gets its own sub-seed, the same on every call
        return tf.random.experimental.stateless_fold_in(self.key, self.count)

    def uniform(self, shape: Any, low: float = 0.0, high: float = 1.0) -> Any:
        import tensorflow as tf

        if self.key is None:
            return tf.random.uniform(shape, low, high)
        return tf.random.stateless_uniform(shape, self._next(), low, high)

    def normal(self, shape: Any) -> Any:
        import tensorflow as tf

        return tf.random.normal(shape) if self.key is None else tf.random.stateless_normal(shape, self._next())

    def gamma(self, shape: Any, alpha: float) -> Any:
        import tensorflow as tf

        if self.key is None:
            return tf.random.gamma(shape, alpha)
        return tf.random.stateless_gamma(shape, self._next(), alpha)

    def permutation(self, n: Any) -> Any:
        import tensorflow as tf

        return tf.random.shuffle(tf.range(n)) if self.key is None else tf.argsort(self.uniform([n]))


def augment(images: Any, labels: Any, key: Any = None) -> tuple[Any, Any]:
    """Flip, rotation (+-10 deg), zoom (+-10%), shift (+-10%) as ONE affine warp per image, then contrast.

    One combined warp costs a third of Keras's three separate random layers, which on 2 cores
    took as long as the network's own training step.
    """
    import tensorflow as tf

    draw = Draws(key)
    n = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)
    angle = draw.uniform([n], -0.175, 0.175)
    scale = draw.uniform([n], 0.9, 1.1)
    flip = tf.where(draw.uniform([n]) < 0.5, -1.0, 1.0)
    shift = draw.uniform([n, 2], -0.1, 0.1) * size
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
    contrast = draw.uniform([n, 1, 1, 1], 0.8, 1.2)
    brightness = draw.uniform([n, 1, 1, 1], -20.0, 20.0)
    return tf.clip_by_value((warped - mean) * contrast + mean + brightness, 0.0, 255.0), labels


def photo_augment(images: Any, labels: Any, key: Any = None) -> tuple[Any, Any]:
    """What a camera does to a face that FER2013's web crops rarely show: exposure (gamma), blur and sensor noise.

    Per image: gamma in [0.6, 1.7] (log-uniform), a blur mixed in at a random strength on half the images, and
    Gaussian noise of sigma up to 8 grey levels. Cheap batched ops, a few percent of a training step.
    """
    import tensorflow as tf

    draw = Draws(key)
    n = tf.shape(images)[0]
    gamma = tf.exp(draw.uniform([n, 1, 1, 1], math.log(0.6), math.log(1.7)))
    images = 255.0 * tf.pow(images / 255.0, gamma)
    kernel = tf.constant([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # binomial ~ Gaussian, sigma 1 px
    kernel = tf.reshape(tf.tensordot(kernel, kernel, axes=0), [5, 5, 1, 1])
    blurred = tf.nn.conv2d(tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="SYMMETRIC"), kernel, 1, "VALID")
    strength = draw.uniform([n, 1, 1, 1]) * tf.cast(draw.uniform([n, 1, 1, 1]) < 0.5, tf.float32)
    images = images + strength * (blurred - images)
    sigma = draw.uniform([n, 1, 1, 1], 0.0, 8.0)
    images = images + sigma * draw.normal(tf.shape(images))
    return tf.clip_by_value(images, 0.0, 255.0), labels


def random_erase(images: Any, share: float, key: Any = None) -> Any:
    """Blank one random rectangle (5-25 % of the face, aspect 1:2 to 2:1) to the image's mean grey, in ``share`` of
    the images.

    FER2013's faces are mostly strong, open-mouthed expressions, so a network can name them from the mouth alone;
    a posed or subtle face on a real photo often shows its expression in the brows and eyes. Hiding a part of the
    face at random (Zhong et al., "Random Erasing Data Augmentation", 2017) makes every region count. Off by
    default: on the shipped model it cost 1.7 TCFE points (benchmarks/RESULTS.md).
    """
    import tensorflow as tf

    draw = Draws(key)
    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    size = tf.cast(height, tf.float32)  # faces are square
    area = draw.uniform([n], 0.05, 0.25) * size * size
    aspect = tf.exp(draw.uniform([n], math.log(0.5), math.log(2.0)))
    rows = tf.minimum(tf.sqrt(area * aspect), size)
    cols = tf.minimum(tf.sqrt(area / aspect), size)
    top = draw.uniform([n]) * (size - rows)
    left = draw.uniform([n]) * (size - cols)
    y = tf.cast(tf.range(height), tf.float32)[None, :, None]
    x = tf.cast(tf.range(width), tf.float32)[None, None, :]
    inside = (
        (y >= top[:, None, None])
        & (y < (top + rows)[:, None, None])
        & (x >= left[:, None, None])
        & (x < (left + cols)[:, None, None])
    )
    chosen = draw.uniform([n, 1, 1]) < share
    mask = tf.cast(inside & chosen, images.dtype)[..., None]
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return images * (1 - mask) + mean * mask


def mixup(images: Any, targets: Any, alpha: float, key: Any = None) -> tuple[Any, Any]:
    """Blend each face with another face of the batch, and its target with that face's, in a Beta(alpha, alpha)
    share (Zhang et al., "mixup", 2018).

    The network is asked for answers between two expressions, on faces between them: it learns to grade how much
    of each it sees instead of only which one. Off by default: on the shipped model it cost 1.3 TCFE points
    (benchmarks/RESULTS.md).
    """
    import tensorflow as tf

    draw = Draws(key)
    n = tf.shape(images)[0]
    first, second = draw.gamma([n], alpha), draw.gamma([n], alpha)
    share = first / tf.maximum(first + second, 1e-12)  # Beta(alpha, alpha) from two Gammas
    partner = draw.permutation(n)
    blend = share[:, None, None, None]
    images = blend * images + (1 - blend) * tf.gather(images, partner)
    targets = share[:, None] * targets + (1 - share[:, None]) * tf.gather(targets, partner)
    return images, targets
