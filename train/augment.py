"""Training-time input pipeline: tf.data batches with the augmentations ``TrainConfig`` switches on."""

from __future__ import annotations

from typing import Any

import numpy as np

from train.config import TrainConfig


def tf_dataset(x: np.ndarray, targets: np.ndarray, config: TrainConfig, training: bool) -> Any:
    """Batches of (float32 faces, targets); shuffled and augmented when ``training``."""
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((x, targets))
    if training:
        data = data.shuffle(len(x), seed=config.seed, reshuffle_each_iteration=True)
    data = data.batch(config.batch_size)
    data = data.map(lambda images, y: (tf.cast(images, tf.float32), y))
    if training and config.augment:
        data = data.map(augment)
    if training and config.photo_augment:
        data = data.map(photo_augment)
    if training and config.erase:
        data = data.map(lambda images, y: (random_erase(images, config.erase), y))
    if training and config.mixup:
        data = data.map(lambda images, y: mixup(images, y, config.mixup))
    return data.prefetch(tf.data.AUTOTUNE)


def augment(images: Any, labels: Any) -> tuple[Any, Any]:
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


def photo_augment(images: Any, labels: Any) -> tuple[Any, Any]:
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
