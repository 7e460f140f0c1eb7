"""Server-side webcam figures: frames/s of LiveProcessor on a 640x480 stream, and ms per stage.

    python benchmarks/webcam_fps.py [--model NAME_OR_PATH] [--frames 300] [--detect-every 1,3]

The stream is a shared Yale face pasted on a grey frame, drifting a few pixels per frame like a
person in front of a webcam. Timing covers LiveProcessor.process only (what the WebRTC callback
adds is a BGR conversion each way). Prints a table and ends with one JSON line. Figures only.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.classify.tflite import live_model  # noqa: E402
from emotion_core.live.webcam import LiveConfig, LiveProcessor, LiveResult  # noqa: E402
from emotion_core.vision.decode import read_image  # noqa: E402

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
WARM_UP = 10  # frames left out of the figures (first detections, allocator warm-up)


def stream(photo: Path, frames: int) -> list[np.ndarray]:
    """640x480 BGR frames with the photo drifting up to 12 px around the centre."""
    face = read_image(photo)
    h, w = face.shape[:2]
    out = []
    for i in range(frames):
        frame = np.full((480, 640, 3), 128, np.uint8)
        dx, dy = round(12 * math.sin(i / 15)), round(6 * math.cos(i / 20))
        top, left = (480 - h) // 2 + dy, (640 - w) // 2 + dx
        frame[top : top + h, left : left + w] = face
        out.append(frame)
    return out


def run(predictor: Predictor, frames: list[np.ndarray], detect_every: int) -> dict[str, float]:
    """Process the stream once; figures over the frames after the warm-up."""
    processor = LiveProcessor(predictor, LiveConfig(detect_every=detect_every, queue_size=len(frames)))
    walls = []
    for frame in frames:
        started = time.perf_counter()
        processor.process(frame)
        walls.append((time.perf_counter() - started) * 1000)
    results: list[LiveResult] = processor.drain()[WARM_UP:]
    walls = walls[WARM_UP:]
    detects = [r.times.detect_ms for r in results if r.times.detect_ms > 0]
    return {
        "detect_every": detect_every,
        "frames": len(results),
        "fps": round(1000 * len(walls) / sum(walls), 1),
        "ms_per_frame": round(statistics.mean(walls), 2),
        "ms_per_frame_p95": round(sorted(walls)[int(0.95 * len(walls))], 2),
        "detect_ms_per_detection": round(statistics.mean(detects), 2) if detects else 0.0,
        "detect_ms_per_frame": round(sum(r.times.detect_ms for r in results) / len(results), 2),
        "classify_ms": round(statistics.mean(r.times.classify_ms for r in results), 2),
        "draw_ms": round(statistics.mean(r.times.draw_ms for r in results), 2),
        "frames_with_a_face": round(sum(bool(r.faces) for r in results) / len(results), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="registered name or run folder (default: the shipped model)")
    parser.add_argument("--photo", default=str(FACES / "01_happy.png"))
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--detect-every", default="1,3", help="comma-separated values to compare")
    args = parser.parse_args()

    predictor = Predictor.load(live_model(args.model))  # what the webcam page runs
    frames = stream(Path(args.photo), args.frames + WARM_UP)
    rows = [run(predictor, [f.copy() for f in frames], int(n)) for n in args.detect_every.split(",")]

    columns = [
        "detect_every",
        "fps",
        "ms_per_frame",
        "ms_per_frame_p95",
        "detect_ms_per_detection",
        "detect_ms_per_frame",
        "classify_ms",
        "draw_ms",
        "frames_with_a_face",
    ]
    print("  ".join(f"{c:>12}" if len(c) <= 12 else c for c in columns))
    for row in rows:
        print("  ".join(f"{row[c]:>{max(12, len(c))}}" for c in columns))
    model = predictor.card.name or args.model or "default"
    print(json.dumps({"benchmark": "webcam_fps", "model": model, "size": [640, 480], "runs": rows}))


if __name__ == "__main__":
    main()
