"""Face detector figures: faces found per shared photo and ms per frame (320x243 photos and 640x480 frames).

    python benchmarks/detector.py [--faces ../shared/data/faces]

Prints a table and ends with one JSON line. Figures only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import median_ms  # noqa: E402

from emotion_core.faces import FaceDetector  # noqa: E402
from emotion_core.io import read_image  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"))
    args = parser.parse_args()
    photos = sorted(Path(args.faces).glob("*.png"))
    detector = FaceDetector()
    images = {p.name: read_image(p) for p in photos}
    found = {name: len(detector.detect(image)) for name, image in images.items()}
    photo_ms = statistics.median(median_ms(lambda image=image: detector.detect(image), 3) for image in images.values())
    frame = np.full((480, 640, 3), 128, np.uint8)
    frame[118:361, 160:480] = read_image(photos[0])
    frame_ms = median_ms(lambda: detector.detect(frame), 30)

    exactly_one = sum(n == 1 for n in found.values())
    print(f"{'photos':<28}{len(photos)}")
    print(f"{'exactly one face':<28}{exactly_one}")
    print(f"{'not one face':<28}{ {k: v for k, v in found.items() if v != 1} }")
    print(f"{'ms per 320x243 photo':<28}{photo_ms:.1f}")
    print(f"{'ms per 640x480 frame':<28}{frame_ms:.1f}")
    figures = {"photos": len(photos), "exactly_one_face": exactly_one, "photo_ms": round(photo_ms, 2)}
    print(json.dumps({**figures, "frame_640x480_ms": round(frame_ms, 2)}))


if __name__ == "__main__":
    main()
