"""Face detector figures per backend: faces found / expected, extra boxes, eye-angle error, ms per 640x480 frame.

    python benchmarks/detector.py [--backends yunet,haar] [--faces DIR] [--tcfe ZIP] [--canvas 10]

Over the 50 Yale photos and variants made here (rotated 20°/35°, γ 2.5 dark, JPEG q20, face cut past the centre,
2x2 grids, a photo pasted small on a 4000x3000 canvas, a photo beside a blank margin or a brick wall) and the TCFE
photos (measuring only). False boxes: the "extra" column, and the rows with no face expected, made from
scikit-image's bundled photos with no person in them (a cat, a motorbike, coffee, coins, textures...) at three
scales. "eye°" is the median error of the detected eye-line angle against the rotation applied (the original
photos are upright). Prints a Markdown table and ends with one JSON line. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import median_ms  # noqa: E402

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.paths import SHARED_DATA  # noqa: E402
from emotion_core.records import eye_angle  # noqa: E402
from emotion_core.vision.decode import decode_image, read_image  # noqa: E402
from emotion_core.vision.detect import DetectorConfig, FaceDetector  # noqa: E402

# (name, image, faces expected, rotation applied in degrees or None)
Case = tuple[str, np.ndarray, int, float | None]


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """The photo turned by ``degrees`` (OpenCV's sign: counter-clockwise) on a padded canvas, so no face is cut."""
    pad = image.shape[0] // 3
    canvas = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    matrix = cv2.getRotationMatrix2D((canvas.shape[1] / 2, canvas.shape[0] / 2), degrees, 1.0)
    return cv2.warpAffine(canvas, matrix, canvas.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


def dark(image: np.ndarray, gamma: float = 2.5) -> np.ndarray:
    table = (255 * (np.arange(256) / 255) ** gamma).astype(np.uint8)
    return cv2.LUT(image, table)


def jpeg(image: np.ndarray, quality: int = 20) -> np.ndarray:
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)


def on_canvas(image: np.ndarray, seed: int) -> np.ndarray:
    """The photo shrunk to half (a ~60 px face) on a 4000x3000 textured canvas, somewhere off-centre."""
    rng = np.random.default_rng(seed)
    canvas = cv2.GaussianBlur(rng.integers(60, 200, (3000, 4000, 3), dtype=np.uint8), (31, 31), 0)
    small = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    y, x = int(rng.integers(200, 2600)), int(rng.integers(200, 3600))
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


def beside(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The photo at the left of a 1600x1200 ``background`` (a wall beside a portrait)."""
    canvas = cv2.resize(background, (1600, 1200), interpolation=cv2.INTER_LINEAR)
    top = (canvas.shape[0] - image.shape[0]) // 2
    canvas[top : top + image.shape[0], 40 : 40 + image.shape[1]] = image
    return canvas


# scikit-image's bundled photos with no person in them (public domain / CC0; see skimage/data/README.txt).
FACE_FREE = (
    "chelsea", "motorcycle_left", "motorcycle_right", "coffee", "coins", "brick", "grass", "gravel", "rocket",
    "hubble_deep_field", "immunohistochemistry", "moon", "page", "text", "cell", "colorwheel", "clock", "retina",
)  # fmt: skip


def skimage_photo(name: str) -> np.ndarray:
    """One of ``FACE_FREE`` as BGR uint8."""
    from skimage import data  # dev extra: scikit-image

    if name.startswith("motorcycle_"):
        left, right, _ = data.stereo_motorcycle()
        image = left if name.endswith("left") else right
    else:
        image = np.asarray(getattr(data, name)())
    image = (image > 0).astype(np.uint8) * 255 if image.dtype == bool else image.astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)


def wall_cases(photos: list[np.ndarray]) -> Iterator[tuple[str, Case]]:
    """Every fifth photo beside scikit-image's brick wall (strong edges, no face)."""
    brick = skimage_photo("brick")
    for image in photos[::5]:
        yield "beside a brick wall", ("", beside(image, brick), 1, None)


def face_free_cases() -> Iterator[tuple[str, Case]]:
    """Photos with no face, each at half, its own and twice its size (YuNet's false boxes come and go by scale)."""
    for name in FACE_FREE:
        image = skimage_photo(name)
        for scale in (0.5, 1.0, 2.0):
            resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            variant = "no face: cat and motorbike" if name in FACE_FREE[:3] else "no face: objects and textures"
            yield variant, (f"{name}@{scale}", resized, 0, None)


def yale_cases(photos: list[np.ndarray], canvas_count: int) -> Iterator[tuple[str, Case]]:
    for i, image in enumerate(photos):
        yield "yale", ("", image, 1, 0.0)
        yield "rotated 20°", ("", rotated(image, 20 if i % 2 else -20), 1, 20.0 if i % 2 else -20.0)
        yield "rotated 35°", ("", rotated(image, 35 if i % 2 else -35), 1, 35.0 if i % 2 else -35.0)
        yield "dark γ 2.5", ("", dark(image), 1, None)
        yield "JPEG q20", ("", jpeg(image), 1, None)
        # The photo's centre is left of the face's (x ~180 of 320): this keeps about 35 % of the face.
        yield "cut at photo centre", ("", image[:, : image.shape[1] // 2], 1, None)
        yield "cut past face centre", ("", image[:, : image.shape[1] * 6 // 10], 1, None)  # ~60 % of the face
        if i % 4 == 0 and i + 3 < len(photos):
            top, bottom = np.hstack(photos[i : i + 2]), np.hstack(photos[i + 2 : i + 4])
            yield "2x2 grid", ("", np.vstack([top, bottom]), 4, None)
        if i < canvas_count:
            yield "small on 4000x3000", ("", on_canvas(image, i), 1, None)
        if i % 5 == 0:  # 10 of each: a plain margin (the photo's own edge colour) and a textured wall
            plain = np.full((8, 8, 3), np.median(image[:, -4:].reshape(-1, 3), axis=0), np.uint8)
            yield "beside a blank margin", ("", beside(image, plain), 1, None)


def tcfe_cases(path: Path) -> Iterator[tuple[str, Case]]:
    with zipfile.ZipFile(path) as archive:
        for name in sorted(n for n in archive.namelist() if n.lower().endswith(".jpg")):
            yield "TCFE", (name, decode_image(archive.read(name)), 1, None)


def score(detector: FaceDetector, cases: Callable[[], Iterator[tuple[str, Case]]]) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, list[float]]] = {}
    for variant, (_, image, expected, degrees) in cases():
        found = detector.detect(image)
        row = rows.setdefault(variant, {"found": [], "expected": [], "extra": [], "angle": [], "ms": []})
        row["found"].append(min(len(found), expected))
        row["expected"].append(expected)
        row["extra"].append(max(0, len(found) - expected))
        angle = eye_angle(found[0]) if found and degrees is not None else None
        if angle is not None:
            row["angle"].append(abs(angle + degrees))  # turning by +d (counter-clockwise) reads as an angle of -d
    return {
        variant: {
            "found": sum(r["found"]),
            "expected": sum(r["expected"]),
            "extra": sum(r["extra"]),
            "eye_angle_error": round(statistics.median(r["angle"]), 1) if r["angle"] else None,
        }
        for variant, r in rows.items()
    }


def frame_ms(detector: FaceDetector, photo: np.ndarray, width: int | None = None) -> float:
    frame = np.full((480, 640, 3), 128, np.uint8)
    frame[118 : 118 + photo.shape[0], 160 : 160 + photo.shape[1]] = photo
    return median_ms(lambda: detector.detect(frame, width, second_pass=width is None), 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="yunet,haar")
    parser.add_argument("--faces", default=str(SHARED_DATA / "faces"))
    parser.add_argument("--tcfe", default=str(SHARED_DATA / "tcfe" / "tcfe.zip"))
    parser.add_argument("--canvas", type=int, default=10, help="photos pasted on a 4000x3000 canvas (slow)")
    parser.add_argument("--only", default=None, help="comma-separated variant names to run (default: all)")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    photos = [read_image(p) for p in sorted(Path(args.faces).glob("*.png"))]
    tcfe = Path(args.tcfe)
    only = set(args.only.split(",")) if args.only else None
    results = {}
    for backend in args.backends.split(","):
        detector = FaceDetector(DetectorConfig(backend=backend))
        started = time.perf_counter()
        table = score(detector, lambda: ((v, c) for v, c in yale_cases(photos, args.canvas) if not only or v in only))
        table.update(score(detector, lambda: ((v, c) for v, c in wall_cases(photos) if not only or v in only)))
        table.update(score(detector, lambda: ((v, c) for v, c in face_free_cases() if not only or v in only)))
        if tcfe.is_file() and (not only or "TCFE" in only):
            table.update(score(detector, lambda: tcfe_cases(tcfe)))
        results[backend] = {
            "variants": table,
            "frame_640x480_ms": round(frame_ms(detector, photos[0]), 1),
            "frame_320_webcam_ms": round(frame_ms(detector, photos[0], 320), 1),
            "seconds": round(time.perf_counter() - started),
        }
    print_table(results)
    print(json.dumps(results))


def print_table(results: dict[str, dict]) -> None:
    backends = list(results)
    print("| variant | " + " | ".join(f"{b} found (extra) eye°" for b in backends) + " |")
    print("|---|" + "---|" * len(backends))
    for variant in next(iter(results.values()))["variants"]:
        cells = []
        for b in backends:
            r = results[b]["variants"][variant]
            angle = "" if r["eye_angle_error"] is None else f" {r['eye_angle_error']}°"
            cells.append(f"{r['found']}/{r['expected']} ({r['extra']}){angle}")
        print(f"| {variant} | " + " | ".join(cells) + " |")
    print(
        "| ms per 640x480 frame (photo settings) | "
        + " | ".join(str(results[b]["frame_640x480_ms"]) for b in backends)
        + " |"
    )
    print(
        "| ms per 640x480 frame at 320 px (webcam) | "
        + " | ".join(str(results[b]["frame_320_webcam_ms"]) for b in backends)
        + " |"
    )


if __name__ == "__main__":
    main()
