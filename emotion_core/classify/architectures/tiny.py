"""A few thousand params: for tests and smoke runs, not for accuracy."""

from __future__ import annotations

from typing import Any

from keras import layers

from emotion_core.classify.architectures.blocks import conv_block


def build(x: Any, num_classes: int) -> Any:
    x = conv_block(x, 8, convs=1, dropout=0.0)
    x = conv_block(x, 16, convs=1, dropout=0.0)
    x = layers.GlobalAveragePooling2D()(x)
    return layers.Dense(num_classes)(x)
