"""Test-time views: a face's prediction averaged over its mirror image and slight zooms.

The network saw mirrored and zoomed faces in training, so each view is an equally valid input and
their mean is a cheap ensemble. Which views a model uses is part of its metadata, measured per model
(the shipped model's figures are in benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

Forward = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class TestTimeViews:
    mirror: bool = False  # also the horizontally flipped face
    zooms: tuple[float, ...] = (1.0,)  # scale about the centre: 1.1 = zoomed in 10 %

    __test__ = False  # a dataclass named Test*: tell pytest it is not a test class

    @classmethod
    def of(cls, metadata: dict[str, Any]) -> TestTimeViews:
        """The views a model's metadata asks for; models that predate a key get the single plain view."""
        inference = metadata.get("inference", {})
        zooms = tuple(float(z) for z in inference.get("zooms", [1.0])) or (1.0,)
        return cls(mirror=bool(inference.get("flip_average", False)), zooms=zooms)

    @classmethod
    def around(cls, mirror: bool, zoom: float) -> TestTimeViews:
        """Plain, zoomed out and zoomed in by ``zoom`` (0: no zoomed views), each also mirrored if asked."""
        return cls(mirror=mirror, zooms=(1 - zoom, 1.0, 1 + zoom) if zoom else (1.0,))

    def to_metadata(self) -> dict[str, Any]:
        return {"flip_average": self.mirror, "zooms": list(self.zooms)}

    @property
    def count(self) -> int:
        return len(self.zooms) * (2 if self.mirror else 1)

    def expand(self, faces: np.ndarray) -> np.ndarray:
        """(count * n, s, s, 1): every view of every face, view-major, for one batched forward call."""
        views = [faces if zoom == 1.0 else _zoomed(faces, zoom) for zoom in self.zooms]
        if self.mirror:
            views += [view[:, :, ::-1] for view in views]
        return np.ascontiguousarray(np.concatenate(views)) if len(views) > 1 else views[0]

    def average(self, probabilities: np.ndarray, n: int) -> np.ndarray:
        """(n, classes): each face's mean over its views, from the probabilities of ``expand``'s batch."""
        return probabilities.reshape(self.count, n, -1).mean(axis=0) if self.count > 1 else probabilities

    def averaged(self, forward: Forward) -> Forward:
        """Wrap a one-view forward pass (uint8 batch -> probabilities) into the mean over all views."""
        if self == SINGLE_VIEW:
            return forward
        return lambda faces: self.average(forward(self.expand(faces)), len(faces))


SINGLE_VIEW = TestTimeViews()


def _zoomed(faces: np.ndarray, zoom: float) -> np.ndarray:
    """Each face scaled about its centre, edges repeated: the same warp training's augmentation draws from."""
    size = faces.shape[1]
    centre = (size - 1) / 2
    matrix = cv2.getRotationMatrix2D((centre, centre), 0, zoom)
    out = np.empty_like(faces)
    for i, face in enumerate(faces):
        out[i, ..., 0] = cv2.warpAffine(
            face[..., 0], matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    return out
