"""Teacher targets for distillation, computed once and cached: ``python -m train.teacher_targets``.

Two caches, each one ``.npz`` keyed by everything that shapes it (the data file, the teacher's weights and views, this
module's version), so a rerun with the same inputs reads the file instead of recomputing:

- ``fer2013-<key>.npz``: every FER2013 train and test (PublicTest) image as the dataset reader gives it (``refs``,
  ``split``, ``y``, the 48x48 input ``x``), with the shipped VGG's raw probabilities for each of its own test-time
  views (``vgg_views``, n x views x classes), their mean (``vgg``) and the mean after its class weights
  (``vgg_calibrated``, what the Predictor reports).
- ``realfaces-<key>.npz``: every photo of the real-face pool in manifest order, detected and cropped by the product's
  own path (``FaceDetector`` + ``faces_to_batch``, as ``Predictor.predict`` and ``PhotoCropper``): the largest face's
  48x48 crop ``x``, the VGG's per-view probabilities as above, and the RAF-DB MobileFaceNet's probabilities
  (``rafdb``, mapped onto our class order) on the 112x112 crop aligned from YuNet's five landmarks as that model
  expects. Photos without a face have ``found`` False (their rows hold zeros) and a ``skip_reason``.

Work is done in chunks, each saved as it finishes, so a killed run resumes at its last chunk, with one log line per
chunk giving the rate and the time left. ``train.distill`` trains the student from these caches with ``fit``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np

from emotion_core.classify.views import TestTimeViews
from emotion_core.data.datasets import open_dataset
from emotion_core.data.layouts.zip_archive import read_member
from emotion_core.errors import EmotionCoreError
from emotion_core.labels import EMOTIONS
from emotion_core.paths import DEFAULT_MODEL_DIR, SHARED_DATA
from emotion_core.storage import user_cache
from emotion_core.vision.align import faces_to_batch
from emotion_core.vision.decode import decode_image
from emotion_core.vision.detect.detector import FaceDetector
from train.teacher_cache import CACHE_NAME, cache_key, chunked
from train.teachers import ALIGNED_POINTS, ModelTeacher, OnnxTeacher, file_digest, similarity_transform

logger = logging.getLogger(__name__)

FER2013 = SHARED_DATA / "fer2013" / "fer2013.zip"
REALFACES = SHARED_DATA / "realfaces" / "lfw_expressions.zip"
MANIFEST = SHARED_DATA / "realfaces" / "manifest.csv"
RAFDB = SHARED_DATA.parent / "models" / "opencv-zoo-fer" / "fer_mobilefacenet_rafdb_int8.onnx"


def default_cache_dir() -> Path:
    return user_cache(CACHE_NAME)


class VggTeacher:
    """The shipped model's raw probabilities for each of its own test-time views (``ModelTeacher.per_view``), under
    the key the caches were made with."""

    def __init__(self, model_dir: Path = DEFAULT_MODEL_DIR) -> None:
        self.teacher = ModelTeacher.load(str(model_dir))
        self.predictor = self.teacher.predictor
        views = self.predictor.views
        assert views is not None  # a loaded Predictor has its card's views
        self.views: TestTimeViews = views
        self.key = cache_key(file_digest(model_dir / "model.keras"), self.views, self.predictor.card.class_weights)

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        """(n, views, classes) float32 probabilities, before the class weights."""
        return self.teacher.per_view(faces)

    def summaries(self, per_view: np.ndarray) -> dict[str, np.ndarray]:
        mean = per_view.mean(axis=1)
        return {"vgg_views": per_view, "vgg": mean, "vgg_calibrated": self.predictor.card.calibrate(mean)}


def five_landmarks(detector: FaceDetector, bgr: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """YuNet's five landmarks (its order) for the face at ``box``, read from the detector's first pass.

    The same YuNet run at the same scale is matched to the product's box by overlap: the landmarks the caches of
    run1 were made with (``Detection.nose`` and ``mouth`` came later, and a refined detection's eyes differ).
    """
    import warnings

    import yuface

    scale = min(1.0, detector.config.detect_width / bgr.shape[1])
    image = bgr if scale >= 1 else cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        confidences, boxes, landmarks = yuface.detect(np.ascontiguousarray(image), conf=0.3)
    best, best_iou = None, 0.3
    for found_box, marks in zip(boxes, landmarks, strict=True):
        shared = _iou(np.asarray(found_box, np.float64) / scale, np.asarray(box, np.float64))
        if shared > best_iou:
            best, best_iou = np.asarray(marks, np.float32).reshape(5, 2) / scale, shared
    return best


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two float (x, y, w, h) boxes (``tracking.iou`` takes integer ``Box``es)."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


def fer2013_targets(cache: Path, vgg: VggTeacher, data: Path = FER2013, chunk: int = 2048) -> dict[str, np.ndarray]:
    """The VGG's per-view probabilities for every FER2013 train and test image, in the dataset reader's order."""
    dataset = open_dataset(data)
    samples = dataset.split_samples("train") + dataset.split_samples("test")
    key = cache_key(file_digest(data, 2**20), vgg.key, len(samples))

    def compute(start: int, stop: int) -> dict[str, np.ndarray]:
        loaded = dataset.load_faces(samples[start:stop], list(EMOTIONS))
        for ref, error in loaded.bad:
            logger.info(f"skipped {ref}: {error}")
        by_ref = {s.ref: s for s in samples[start:stop]}
        return {
            "refs": np.array(loaded.refs),
            "split": np.array([by_ref[r].split for r in loaded.refs]),
            "y": loaded.y,
            "x": loaded.x,
            **vgg.summaries(vgg(loaded.x)),
        }

    return chunked(cache / f"fer2013-{key}.npz", len(samples), chunk, compute, "default (six views)")


def realface_targets(
    cache: Path,
    vgg: VggTeacher,
    rafdb: OnnxTeacher,
    data: Path = REALFACES,
    manifest: Path = MANIFEST,
    chunk: int = 1024,
) -> dict[str, np.ndarray]:
    """Detect, crop and label every photo of the real-face pool with both teachers (manifest order)."""
    with open(manifest, newline="") as handle:
        rows = list(csv.DictReader(handle))
    detector = FaceDetector()
    key = cache_key(file_digest(data, 2**20), file_digest(manifest), vgg.key, rafdb.key, repr(detector.config))

    def compute(start: int, stop: int) -> dict[str, np.ndarray]:
        n = stop - start
        out = {
            "x": np.zeros((n, 48, 48, 1), np.uint8),
            "found": np.zeros(n, bool),
            "faces": np.zeros(n, np.int16),
            "confidence": np.zeros(n, np.float32),
            "box": np.zeros((n, 4), np.int32),
            "landmarks": np.zeros((n, 5, 2), np.float32),
            "rafdb": np.zeros((n, len(EMOTIONS)), np.float32),
            "rafdb_aligned": np.zeros(n, bool),  # False: the eyes-only fallback alignment was used
        }
        reasons = [""] * n
        with zipfile.ZipFile(data) as archive:
            for i, row in enumerate(rows[start:stop]):
                reasons[i] = _one_photo(archive, row["path"], detector, rafdb, out, i)
        per_view = np.zeros((n, vgg.views.count, len(EMOTIONS)), np.float32)
        if out["found"].any():
            per_view[out["found"]] = vgg(out["x"][out["found"]])
        summaries = vgg.summaries(per_view)
        summaries["vgg_calibrated"][~out["found"]] = 0
        return {
            "path": np.array([r["path"] for r in rows[start:stop]]),
            "label": np.array([r["label"] for r in rows[start:stop]]),
            "source": np.array([r["source"] for r in rows[start:stop]]),
            "identity": np.array([r["identity"] for r in rows[start:stop]]),
            "skip_reason": np.array(reasons),
            **out,
            **summaries,
        }

    return chunked(cache / f"realfaces-{key}.npz", len(rows), chunk, compute, "default and RAF-DB, real-face pool")


def _one_photo(
    archive: zipfile.ZipFile, member: str, detector: FaceDetector, rafdb: OnnxTeacher, out: dict, i: int
) -> str:
    """Fill row ``i`` of ``out`` for one photo; the reason it was skipped, or '' when a face was found."""
    try:
        bgr = decode_image(read_member(archive, member))
    except (EmotionCoreError, KeyError, OSError) as error:
        return f"unreadable: {error}"
    found = detector.detect(bgr)  # the Predictor's photo path: first pass, tiled second pass, eye refinement
    if not found:
        return "no face"
    face = found[0]  # largest first, as PhotoCropper uses
    out["x"][i] = faces_to_batch(bgr, [face])[0]
    out["found"][i], out["faces"][i], out["confidence"][i] = True, len(found), face.confidence
    out["box"][i] = face.box
    landmarks = five_landmarks(detector, bgr, face.box)
    if landmarks is None and face.has_eyes:  # no YuNet match (tiled pass): eyes only, nose and mouth from the template
        landmarks = _eyes_only(face.left_eye, face.right_eye)
    elif landmarks is not None:
        out["rafdb_aligned"][i] = True
    if landmarks is not None:
        out["landmarks"][i] = landmarks
        out["rafdb"][i] = rafdb.aligned(bgr, landmarks)
    return ""


def _eyes_only(left: tuple[float, float] | None, right: tuple[float, float] | None) -> np.ndarray | None:
    """Five points from two eyes: the template's nose and mouth carried by the eyes' similarity transform."""
    if left is None or right is None:
        return None
    eyes = np.array([left, right], np.float64)  # image order: the person's right eye first, as YuNet's
    matrix = similarity_transform(ALIGNED_POINTS[:2], eyes)
    template = np.hstack([ALIGNED_POINTS, np.ones((5, 1))])
    return (template @ matrix.T).astype(np.float32)


def report(fer: dict[str, np.ndarray] | None, faces: dict[str, np.ndarray] | None, votes: Path | None) -> dict:
    """Counts and agreements, as one JSON-able dict."""
    summary: dict = {}
    if fer is not None:
        for split in ("train", "test"):
            rows = fer["split"] == split
            summary[f"fer2013_{split}"] = {
                "n": int(rows.sum()),
                "vgg_agrees_with_label": round(float((fer["vgg"][rows].argmax(1) == fer["y"][rows]).mean()), 4),
                "vgg_calibrated_agrees_with_label": round(
                    float((fer["vgg_calibrated"][rows].argmax(1) == fer["y"][rows]).mean()), 4
                ),
            }
        if votes is not None and votes.is_file():
            from emotion_core.data.votes import read_votes

            table = read_votes(votes)
            plural = [table.plurality(str(r)) for r in fer["refs"]]
            keep = np.array([p in EMOTIONS for p in plural])
            truth = np.array([EMOTIONS.index(p) if p in EMOTIONS else -1 for p in plural])
            for split in ("train", "test"):
                rows = keep & (fer["split"] == split)
                summary[f"fer2013_{split}"]["ferplus_plurality_n"] = int(rows.sum())
                summary[f"fer2013_{split}"]["vgg_agrees_with_ferplus"] = round(
                    float((fer["vgg"][rows].argmax(1) == truth[rows]).mean()), 4
                )
    if faces is not None:
        found = faces["found"]
        label = np.array([EMOTIONS.index(x) if x in EMOTIONS else -1 for x in faces["label"]])
        vgg, raf = faces["vgg"][found].argmax(1), faces["rafdb"][found].argmax(1)
        summary["realfaces"] = {
            "photos": int(len(found)),
            "faces_found": int(found.sum()),
            "skipped": {str(r): int((faces["skip_reason"] == r).sum()) for r in set(faces["skip_reason"]) if r},
            "several_faces": int((faces["faces"] > 1).sum()),
            "rafdb_five_point_aligned": int(faces["rafdb_aligned"][found].sum()),
            "vgg_agrees_with_rafdb": round(float((vgg == raf).mean()), 4),
            "vgg_agrees_with_label": round(float((vgg == label[found]).mean()), 4),
            "rafdb_agrees_with_label": round(float((raf == label[found]).mean()), 4),
            "per_label": {name: _recalls(label[found], k, vgg, raf) for k, name in enumerate(EMOTIONS)},
        }
    return summary


def _recalls(label: np.ndarray, k: int, vgg: np.ndarray, raf: np.ndarray) -> dict:
    """How many photos carry label ``k``, and how often each teacher names it."""
    rows = label == k
    if not rows.any():
        return {"n": 0}
    return {
        "n": int(rows.sum()),
        "vgg": round(float((vgg[rows] == k).mean()), 3),
        "rafdb": round(float((raf[rows] == k).mean()), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache_dir(), help="folder for the .npz caches")
    parser.add_argument("--only", choices=("fer2013", "realfaces"), help="compute one of the two caches only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    vgg = VggTeacher()
    fer = fer2013_targets(args.cache, vgg) if args.only in (None, "fer2013") else None
    faces = realface_targets(args.cache, vgg, OnnxTeacher.load(RAFDB)) if args.only in (None, "realfaces") else None
    summary = report(fer, faces, SHARED_DATA / "fer2013" / "ferplus.csv")
    (args.cache / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
