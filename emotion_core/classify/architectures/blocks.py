"""Layer groups several architectures share."""

from __future__ import annotations

from typing import Any

from keras import layers


def conv_block(x: Any, filters: int, convs: int, dropout: float) -> Any:
    """``convs`` 3x3 convolutions with BatchNorm and ReLU, then 2x2 max-pooling and optional dropout."""
    for _ in range(convs):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.MaxPooling2D()(x)
    return layers.Dropout(dropout)(x) if dropout else x
