"""Why this label: Grad-CAM heat-maps over a face, and an overlay that shows them on the face crop.

Grad-CAM (Selvaraju et al., 2017) weights the last convolution's feature maps by the mean gradient of
the class score over each map: where the network looked, at a resolution coarser than the input. A
model without convolutions falls back to plain input-gradient saliency (Simonyan et al., 2013).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import keras
import numpy as np
import tensorflow as tf

from emotion_core.classify.predictor import Predictor
from emotion_core.records import Face
from emotion_core.vision.align import aligned_crop, faces_to_batch
from emotion_core.vision.colour import to_grey

# The heat-map holds 48x48 detail: a bigger picture of a face in a 40 MP photo adds memory (the Photo page caches
# overlays), not information.
OVERLAY_MAX_SIDE = 256


def last_conv_layer(model: keras.Model) -> keras.layers.Layer | None:
    """The model's last Conv2D layer (found by type, so it works for any architecture), or None."""
    return next((layer for layer in reversed(model.layers) if isinstance(layer, keras.layers.Conv2D)), None)


class Explainer:
    """Heat-maps for one model. Holds no mutable state: sessions may share it (inference mode only)."""

    def __init__(self, model: keras.Model) -> None:
        if not isinstance(model, keras.Model):
            raise TypeError(f"explanations need the Keras model, not a {type(model).__name__} (use the Keras runtime)")
        # An ensemble (train.ensemble) nests its members: each is explained on its own and the maps averaged,
        # since a convolution inside one member is not reachable from the ensemble's graph.
        self._members = [Explainer(layer) for layer in model.layers if _is_convolutional_member(layer)]
        self.size: int = int(model.input_shape[1])
        self.classes: int = int(model.output_shape[-1])
        if self._members:
            self.method = "grad-cam"
            return
        conv = last_conv_layer(model)
        head = model.layers[-1]
        # The class score is the logit before softmax, as in the paper: softmax gradients fade once a class
        # dominates and mix in every other class.
        scores = head.input if isinstance(head, keras.layers.Activation) else model.output
        self.method = "grad-cam" if conv is not None else "saliency"
        self._model = keras.Model(model.inputs, [conv.output, scores] if conv is not None else scores)

    def heatmaps(self, faces: np.ndarray, classes: Sequence[int]) -> np.ndarray:
        """(n, size, size) float32 maps in [0, 1] for a uint8 batch (n, size, size, 1), one class per face."""
        if self._members:
            mean = np.mean([member.heatmaps(faces, classes) for member in self._members], axis=0)
            return np.stack([_normalise(m) for m in mean])
        x = tf.convert_to_tensor(np.asarray(faces, np.float32))
        pick = tf.one_hot(list(classes), self.classes)
        with tf.GradientTape() as tape:
            tape.watch(x)
            if self.method == "grad-cam":
                features, scores = self._model(x, training=False)
            else:
                features, scores = x, self._model(x, training=False)
            # Faces are independent in inference mode, so one summed score gives each face its own gradient.
            # (The cast: under a mixed-precision policy the logits are float16.)
            score = tf.reduce_sum(tf.cast(scores, tf.float32) * pick)
        grads = tape.gradient(score, features).numpy().astype(np.float32)
        if self.method == "grad-cam":
            weights = grads.mean(axis=(1, 2), keepdims=True)
            maps = np.maximum((weights * features.numpy().astype(np.float32)).sum(axis=-1), 0)
        else:
            maps = np.abs(grads).max(axis=-1)
        return np.stack(
            [_normalise(cv2.resize(m, (self.size, self.size), interpolation=cv2.INTER_LINEAR)) for m in maps]
        )


def _is_convolutional_member(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, keras.Model) and last_conv_layer(layer) is not None


def _normalise(heatmap: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the peak; an all-zero map (no positive evidence anywhere) stays zero."""
    peak = float(heatmap.max())
    return (heatmap / peak if peak > 0 else np.zeros_like(heatmap)).astype(np.float32)


def overlay(crop: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """A BGR picture of the (grey or BGR) face crop with the heat-map blended on in the JET colormap (red = hot)."""
    base = cv2.cvtColor(to_grey(crop), cv2.COLOR_GRAY2BGR)
    heat = cv2.resize(heatmap, (base.shape[1], base.shape[0]), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap((np.clip(heat, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.addWeighted(base, 1 - alpha, colour, alpha, 0)


def explain_faces(
    predictor: Predictor, image: np.ndarray, faces: list[Face], explainer: Explainer | None = None
) -> list[np.ndarray]:
    """One BGR overlay per face, explaining the emotion the Predictor gave it, on the crop the model saw."""
    if not faces:
        return []
    explainer = explainer or Explainer(predictor.model)
    config = predictor.preprocess_config
    found = [face.detection or face.box for face in faces]
    maps = explainer.heatmaps(faces_to_batch(image, found, config), [predictor.labels.index(f.emotion) for f in faces])
    return [overlay(_at_most(aligned_crop(image, f, config)), m) for f, m in zip(found, maps, strict=True)]


def _at_most(crop: np.ndarray, side: int = OVERLAY_MAX_SIDE) -> np.ndarray:
    return crop if crop.shape[0] <= side else cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
