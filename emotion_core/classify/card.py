"""The model card: one typed description of a trained model, read from its metadata.json in one place.

Every reader (the Predictor, evaluation, fine-tuning, exports, the pages) goes through ``ModelCard``, so a
default lives here once and a broken file is refused at load with one message. Keys this version does not
know are kept in ``extra`` and written back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emotion_core.classify.views import TestTimeViews
from emotion_core.errors import ModelActionError, ModelLoadError
from emotion_core.vision.align import PreprocessConfig

KNOWN_KEYS = (
    "name", "labels", "input_size", "preprocessing", "inference", "architecture",
    "training", "metrics", "exports", "created", "init",
)  # fmt: skip


@dataclass(frozen=True)
class ModelCard:
    name: str
    labels: tuple[str, ...]  # output order
    input_size: int = 48
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    faces: str = "crops"  # what the training images were: face crops used whole, or photos through detection
    views: TestTimeViews = field(default_factory=TestTimeViews)
    # Prior correction: probabilities are multiplied by these and renormalised (None: as the network says).
    # A network trained on FER2013 (1.5 % disgust) under-calls rare classes on balanced real photos.
    class_weights: tuple[float, ...] | None = None
    architecture: str = "unknown"
    training: Mapping[str, Any] = field(default_factory=dict)  # the TrainConfig it was trained with, as saved
    metrics: Mapping[str, Any] = field(default_factory=dict)  # evaluate()'s report on its validation split
    exports: Mapping[str, Any] = field(default_factory=dict)  # file name -> TFLite export record
    created: str = ""
    init: str = ""  # the model it was fine-tuned from
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], source: str = "metadata") -> ModelCard:
        """Validate and type a metadata.json; older files without the newer keys get today's defaults."""
        labels = metadata.get("labels")
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            raise ModelLoadError(f"{source}: 'labels' must be a non-empty list of class names; re-train or re-export")
        size = metadata.get("input_size", 48)
        if not isinstance(size, int) or size < 8:
            raise ModelLoadError(f"{source}: 'input_size' must be an integer of at least 8, not {size!r}")
        inference = metadata.get("inference") or {}
        weights = inference.get("class_weights")
        if weights is not None and (len(weights) != len(labels) or min(weights) <= 0):
            raise ModelLoadError(f"{source}: 'class_weights' needs one positive weight per label")
        try:
            preprocess = PreprocessConfig.from_metadata(metadata.get("preprocessing") or {}, size)
            views = TestTimeViews.of(dict(metadata))
        except (TypeError, ValueError) as error:
            raise ModelLoadError(f"{source}: invalid preprocessing or inference settings ({error})") from None
        return cls(
            name=str(metadata.get("name", "")),
            labels=tuple(labels),
            input_size=size,
            preprocess=preprocess,
            faces=str((metadata.get("preprocessing") or {}).get("faces", "crops")),
            views=views,
            class_weights=tuple(float(w) for w in weights) if weights is not None else None,
            architecture=str(metadata.get("architecture") or "unknown"),
            training=dict(metadata.get("training") or {}),
            metrics=dict(metadata.get("metrics") or {}),
            exports=dict(metadata.get("exports") or {}),
            created=str(metadata.get("created", "")),
            init=str(metadata.get("init", "")),
            extra={k: v for k, v in metadata.items() if k not in KNOWN_KEYS},
        )

    def to_metadata(self) -> dict[str, Any]:
        """The metadata.json form: ``from_metadata(card.to_metadata()) == card``."""
        preprocessing = self.preprocess.to_metadata()
        preprocessing["faces"] = self.faces
        inference: dict[str, Any] = self.views.to_metadata()
        if self.class_weights is not None:
            inference["class_weights"] = list(self.class_weights)
        return {
            "name": self.name,
            "labels": list(self.labels),
            "input_size": self.input_size,
            "preprocessing": preprocessing,
            "inference": inference,
            "architecture": self.architecture,
            "training": dict(self.training),
            "metrics": dict(self.metrics),
            "exports": dict(self.exports),
            "created": self.created,
            **({"init": self.init} if self.init else {}),
            **dict(self.extra),
        }

    def calibrate(self, probabilities: np.ndarray) -> np.ndarray:
        """Apply the class weights (prior correction) to (n, classes) probabilities; rows still sum to 1."""
        if self.class_weights is None or len(probabilities) == 0:
            return probabilities
        weighted = probabilities * np.asarray(self.class_weights, probabilities.dtype)
        return weighted / weighted.sum(axis=1, keepdims=True)


def check_ensemble_members(cards: Sequence[ModelCard]) -> None:
    """Members must read the same crop and name the same classes in the same order, or their mean means nothing.

    ModelActionError says which member differs; cheap (cards only), so the app checks before starting a job.
    """
    if len(cards) < 2:
        raise ModelActionError("an ensemble needs at least two models")
    first = cards[0]
    for card in cards[1:]:
        if card.labels != first.labels:
            raise ModelActionError(
                f"'{card.name}' names classes {list(card.labels)}, '{first.name}' {list(first.labels)}"
            )
        if (card.input_size, card.preprocess, card.faces) != (first.input_size, first.preprocess, first.faces):
            raise ModelActionError(f"'{card.name}' crops faces unlike '{first.name}'; ensemble like with like")
