"""Teachers a student learns from (distillation), and how several teachers' answers become one.

A teacher's full probabilities carry more than a label: which other expressions a face is near, and how sure a
better network is. Two kinds: a trained model of ours (registered name or run folder), and a face-expression network
in ONNX such as OpenCV Zoo's RAF-DB MobileFaceNet, which is strong on real photos and weak on 48x48 web crops.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from emotion_core.classify.registry import resolve_model
from emotion_core.classify.run_folder import MODEL_FILE
from emotion_core.errors import ModelLoadError
from emotion_core.labels import EMOTIONS

# OpenCV Zoo's RAF-DB model answers angry, disgust, fearful, happy, neutral, sad, surprised; EMOTIONS is angry,
# disgust, fear, happy, sad, surprise, neutral: ours[i] = its[RAFDB_TO_OURS[i]].
RAFDB_TO_OURS = np.array([0, 1, 2, 3, 5, 6, 4])
ALIGNED_SIZE = 112
# Where its 112x112 crop puts YuNet's five landmarks (right eye, left eye, nose tip, right and left mouth corner).
ALIGNED_POINTS = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)


class Teacher(Protocol):
    name: str
    key: str  # changes whenever its answers could: its weights, its views

    def probabilities(self, faces: np.ndarray) -> np.ndarray:
        """(n, classes) float32 for uint8 (n, 48, 48, 1) model inputs, in ``labels`` order."""
        ...

    @property
    def labels(self) -> tuple[str, ...]: ...


def file_digest(path: Path, limit: int | None = None) -> str:
    """sha256 of a file (of its first ``limit`` bytes plus its size when given: big data files hash fast)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(limit) if limit else handle.read())
    if limit:
        digest.update(str(path.stat().st_size).encode())
    return digest.hexdigest()


@dataclass
class ModelTeacher:
    """One of our models: the mean of its raw probabilities over its own test-time views, before class weights
    (those re-balance answers for photos; a target should keep what the network saw)."""

    name: str
    predictor: Any  # emotion_core.classify.predictor.Predictor
    key: str
    batch_size: int = 256

    @classmethod
    def load(cls, name: str) -> ModelTeacher:
        from emotion_core.classify.predictor import Predictor

        predictor = Predictor.load(name)
        weights = file_digest(resolve_model(name) / MODEL_FILE)
        key = hashlib.sha256(f"{weights}\n{predictor.views}".encode()).hexdigest()
        return cls(Path(name).name, predictor, key)  # a run folder is named by its folder: no path in a message

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.predictor.labels)

    def probabilities(self, faces: np.ndarray) -> np.ndarray:
        return self.per_view(faces).mean(axis=1)

    def per_view(self, faces: np.ndarray) -> np.ndarray:
        """(n, views, classes) float32: each view's raw probabilities, ``batch_size`` faces per model call."""
        views, forward = self.predictor.views, self.predictor.forward
        out = []
        for i in range(0, len(faces), self.batch_size):
            chunk = faces[i : i + self.batch_size]
            probabilities = forward(views.expand(chunk)).reshape(views.count, len(chunk), -1)
            out.append(probabilities.transpose(1, 0, 2).astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, views.count, len(self.labels)), np.float32)


@dataclass
class OnnxTeacher:
    """A seven-expression ONNX network taking a 112x112 RGB face scaled to [-1, 1] (OpenCV Zoo's RAF-DB
    MobileFaceNet), run by OpenCV's dnn. ``aligned`` feeds it what it was trained on (a colour face aligned from five
    landmarks); ``probabilities`` gives it a 48x48 grey training face enlarged, which it reads much less well."""

    name: str
    net: Any
    key: str

    @classmethod
    def load(cls, path: Path) -> OnnxTeacher:
        try:
            net = cv2.dnn.readNet(str(path))
        except cv2.error as error:
            raise ModelLoadError(f"'{path.name}' is not an ONNX network OpenCV can read") from error
        return cls(path.name, net, file_digest(path))

    @property
    def labels(self) -> tuple[str, ...]:
        return EMOTIONS

    def probabilities(self, faces: np.ndarray) -> np.ndarray:
        rows = [cv2.resize(face.reshape(face.shape[:2]), (ALIGNED_SIZE, ALIGNED_SIZE)) for face in faces]
        return np.array([self._classify(cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)) for g in rows], np.float32).reshape(
            len(faces), len(EMOTIONS)
        )

    def aligned(self, bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Probabilities for the face whose five YuNet landmarks (5 x 2, YuNet's order) are given."""
        matrix = similarity_transform(np.asarray(landmarks, np.float64), ALIGNED_POINTS)
        face = cv2.warpAffine(bgr, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR)
        return self._classify(face)

    def _classify(self, bgr: np.ndarray) -> np.ndarray:
        # (x / 255 - 0.5) / 0.5 on RGB, as the model was trained
        blob = cv2.dnn.blobFromImage(bgr, 1 / 127.5, (ALIGNED_SIZE, ALIGNED_SIZE), (127.5,) * 3, swapRB=True)
        self.net.setInput(blob)
        logits = self.net.forward().reshape(-1).astype(np.float64)
        probabilities = np.exp(logits - logits.max())
        return (probabilities / probabilities.sum())[RAFDB_TO_OURS].astype(np.float32)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """2x3 matrix of the rotation, uniform scale and shift mapping ``source`` points onto ``target`` (Umeyama)."""
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mean_s, target - mean_t
    u, sigma, vt = np.linalg.svd(t.T @ s / len(source))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(sigma) @ sign) / s.var(axis=0).sum()
    shift = mean_t - scale * rotation @ mean_s
    return np.hstack([scale * rotation, shift[:, None]])


def load_teacher(spec: str, labels: list[str]) -> Teacher:
    """A teacher by registered name, run folder or ``.onnx`` file, checked to answer this run's classes."""
    teacher: Teacher = OnnxTeacher.load(Path(spec)) if spec.endswith(".onnx") else ModelTeacher.load(spec)
    if list(teacher.labels) != list(labels):
        raise ModelLoadError(
            f"teacher '{teacher.name}' answers {', '.join(teacher.labels)}; this run's classes are {', '.join(labels)}"
        )
    return teacher


def blend(answers: list[np.ndarray], later_weight: float) -> np.ndarray:
    """One target from several teachers: their weighted geometric mean, renormalised.

    The first teacher weighs ``1 - later_weight`` and the others share ``later_weight``: a geometric mean keeps
    what both find likely and drops what either rules out (on TCFE the VGG and the RAF-DB model at 0.7/0.3 scored
    0.686 where each alone scored 0.669 and 0.624).
    """
    if len(answers) == 1:
        return answers[0].astype(np.float32)
    weights = [1 - later_weight] + [later_weight / (len(answers) - 1)] * (len(answers) - 1)
    logs = sum(w * np.log(np.clip(a.astype(np.float64), 1e-6, 1)) for w, a in zip(weights, answers, strict=True))
    mixed = np.exp(logs - np.max(logs, axis=1, keepdims=True))
    return (mixed / mixed.sum(axis=1, keepdims=True)).astype(np.float32)
