"""A CPU student for 48x48 faces: a 3x3 stem (stride 2), depthwise-separable stages at 24, 12 and 6 px, and a global
depthwise head; 9.0M multiply-adds and 149k parameters per face and view (the VGG: 118M and 1.77M). Not yet trained.

The head is MobileFaceNet's global depthwise convolution (one learned weight per position and channel over the last
6x6 map) instead of global average pooling, which would throw away where on the face a feature is (a raised brow
against a raised lip corner). The stem strides because on a CPU these small convolutions are bound by memory traffic
more than by multiply-adds: a stride-1 stem with a 32-channel 48 px stage ran at 2.4x the VGG's faces per CPU-second
in Keras, this one at 5.8x (measured on the 2-core AVX2 EPYC, issue 25's branch student-prep).
"""

from __future__ import annotations

from typing import Any

from keras import layers

WIDTHS = (64, 128, 256)  # channels of the stages at 24, 12 and 6 px
BLOCKS = (1, 2, 2)  # separable blocks per stage
STEM = 32
DROPOUT = 0.3


def build(x: Any, num_classes: int) -> Any:
    x = layers.Conv2D(STEM, 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for stage, (filters, count) in enumerate(zip(WIDTHS, BLOCKS, strict=True)):
        for block in range(count):
            x = separable(x, filters, stride=2 if stage and not block else 1)
    x = layers.DepthwiseConv2D(x.shape[1], padding="valid", use_bias=False)(x)  # the global depthwise head
    x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(DROPOUT)(x)
    return layers.Dense(num_classes)(x)


def separable(x: Any, filters: int, stride: int = 1) -> Any:
    """Depthwise 3x3 + BN + ReLU, then pointwise 1x1 + BN: MobileNet's block, a residual where shapes match.

    The residual's sum is followed by the ReLU, as in ResNet; BN folds into the convolutions in a TFLite export.
    """
    shortcut = x
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(filters, 1, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    if stride == 1 and shortcut.shape[-1] == filters:
        x = layers.Add()([x, shortcut])
    return layers.ReLU()(x)
