"""The student's recipe: ``python -m train.distill --out RUN [--resume]``.

``fit --teacher`` distils on one dataset, with every teacher reading the same 48x48 faces. The registered student
also learns from the real-face pool (``../shared/data/realfaces``), where the RAF-DB teacher reads what it was trained
on: the colour photo's face aligned from YuNet's five landmarks. ``train.teacher_targets`` computes both caches
once; this module turns them into ``fit``'s training data and trains with ``fit`` itself (same pipeline, checkpoints,
resume and model card):

- FER2013 train: ``teacher_weight * VGG six-view mean + (1 - teacher_weight) * target``, the target being
  ``votes_weight * FER+ vote shares + (1 - votes_weight) * label`` (the label alone where FER+ has no votes).
- Pool photos of the training identities (a fixed hash of the identity holds out about 10 %): the teachers'
  geometric mean, weight ``teacher_blend`` on RAF-DB (the VGG's alone where RAF-DB had no landmarks). Its folder
  labels are not used: only happy is reliable.
- Validation each epoch: FER2013 PublicTest, watched and never used to choose anything (the epochs are fixed).
  TCFE is never read.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from emotion_core.data.datasets import FaceChoice
from emotion_core.data.votes import read_votes
from emotion_core.labels import EMOTIONS
from emotion_core.paths import SHARED_DATA
from emotion_core.settings import apply_process_defaults
from train.config import TrainConfig
from train.teacher_targets import RAFDB, VggTeacher, default_cache_dir, fer2013_targets, realface_targets
from train.teachers import OnnxTeacher, blend
from train.training_data import TrainingData

logger = logging.getLogger(__name__)

POOL_HOLDOUT = 0.1  # share of the pool's identities kept out of training
RECIPE = TrainConfig(
    data=str(SHARED_DATA / "fer2013" / "fer2013.zip"),
    architecture="student",
    epochs=24,
    batch_size=128,
    learning_rate=3e-3,
    warmup_epochs=2,
    weight_decay=5e-5,
    label_smoothing=0.0,  # teacher targets are soft already
    votes=str(SHARED_DATA / "fer2013" / "ferplus.csv"),
    votes_weight=0.5,
    teacher=f"default,{RAFDB}",
    teacher_weight=0.6,
    teacher_blend=0.3,
    prior_correction=True,
    val_split="test",
    seed=1,
)


def held_out(identity: str, share: float = POOL_HOLDOUT) -> bool:
    """A fixed split by person: the same identity is always on the same side, on any machine."""
    return int(hashlib.sha1(identity.encode()).hexdigest()[:8], 16) / 2**32 < share


def fer_targets(fer: dict[str, np.ndarray], config: TrainConfig) -> np.ndarray:
    """FER2013 targets: the VGG mixed with the votes-and-label target that trained it."""
    onehot = np.eye(len(EMOTIONS), dtype=np.float32)[fer["y"]]
    hard = onehot.copy()
    votes = read_votes(config.votes)
    for i, ref in enumerate(fer["refs"]):
        share = votes.distribution(str(ref), list(EMOTIONS))
        if share is not None:
            hard[i] = config.votes_weight * share + (1 - config.votes_weight) * onehot[i]
    return config.teacher_weight * fer["vgg"].astype(np.float32) + (1 - config.teacher_weight) * hard


def pool_targets(faces: dict[str, np.ndarray], config: TrainConfig) -> np.ndarray:
    """The two teachers' geometric mean; the VGG's answer alone where the RAF-DB model was not run."""
    both = blend([faces["vgg"], faces["rafdb"]], config.teacher_blend)
    has_rafdb = faces["rafdb"].sum(axis=1) > 0.5
    return np.where(has_rafdb[:, None], both, faces["vgg"]).astype(np.float32)


def student_data(config: TrainConfig, fer: dict[str, np.ndarray], faces: dict[str, np.ndarray]) -> TrainingData:
    """FER2013 train plus the pool's training identities, with PublicTest as the watched validation split."""
    train, test = fer["split"] == "train", fer["split"] == "test"
    kept = faces["found"] & ~np.array([held_out(str(i)) for i in faces["identity"]])
    x = np.concatenate([fer["x"][train], faces["x"][kept]])
    y = np.concatenate([fer["y"][train], np.full(kept.sum(), -1)])  # pool labels are not used
    targets = np.concatenate([fer_targets(fer, config)[train], pool_targets(faces, config)[kept]])
    logger.info(f"training faces: {train.sum()} FER2013, {kept.sum()} from the pool; validation: {test.sum()}")
    val_y = fer["y"][test]
    val = (fer["x"][test], val_y, np.eye(len(EMOTIONS), dtype=np.float32)[val_y])
    choice = FaceChoice("crops", "crops", "FER2013 crops and the pool's detected faces, cached")
    return TrainingData(config, list(EMOTIONS), choice, (x, y, targets.astype(np.float32)), val)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="run folder to write")
    parser.add_argument("--resume", action="store_true", help="continue --out from its last finished epoch")
    parser.add_argument("--epochs", type=int, default=RECIPE.epochs, help="passes over the training faces")
    args = parser.parse_args(argv)
    apply_process_defaults()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    from train.fit import fit  # TensorFlow: after the process defaults

    config = replace(RECIPE, out=args.out, epochs=args.epochs)
    cache, vgg = default_cache_dir(), VggTeacher()
    data = student_data(config, fer2013_targets(cache, vgg), realface_targets(cache, vgg, OnnxTeacher.load(RAFDB)))
    fit(config, Path(args.out), resume=args.resume, data=data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
