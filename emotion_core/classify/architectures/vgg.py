"""VGG-style: four stages of two 3x3 convs with BatchNorm (32-64-128-256), ~1.8M params, 118M multiply-adds."""

from __future__ import annotations

from typing import Any

from keras import layers

from emotion_core.classify.architectures.blocks import conv_block


def build(x: Any, num_classes: int) -> Any:
    for filters, dropout in ((32, 0.0), (64, 0.1), (128, 0.2), (256, 0.3)):
        x = conv_block(x, filters, convs=2, dropout=dropout)
    x = layers.Flatten()(x)
    x = layers.Dense(256, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.5)(x)
    return layers.Dense(num_classes)(x)
