"""Speed of the live pipeline against the peer `fer` package, same frame, same machine, same moment.

    pip install --no-deps -r benchmarks/requirements.txt   # the fer baseline (optional)
    python benchmarks/speed.py [--model NAME_OR_PATH] [--frames 300]

pipeline = a 640x480 BGR frame with one face (a shared photo pasted on grey) through LiveProcessor,
exactly what the webcam callback runs: detect (every Nth frame) -> crop -> classify -> smooth -> draw.
faces_per_s = batched classification of 256 faces with the webcam's test-time views (the mirror pair);
faces_per_s_photo_views = the same with every view the model's metadata asks for (photos, evaluation).
baseline = fer's FER().detect_emotions(frame)
(Haar + its quantized TFLite mini-Xception). Prints a Markdown table (the README's), then one JSON line. Figures only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import median_ms  # noqa: E402
from webcam_fps import FACES, WARM_UP, run, stream  # noqa: E402

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.classify.tflite import live_model  # noqa: E402
from emotion_core.live.webcam import LiveConfig, LiveProcessor  # noqa: E402
from emotion_core.vision.align import faces_to_batch  # noqa: E402
from emotion_core.vision.detect import DetectorConfig, FaceDetector  # noqa: E402


def fer_baseline_fps(frame: np.ndarray, repeats: int) -> tuple[float | None, str]:
    try:
        from fer.fer import FER
    except ImportError as error:
        return None, f"fer not installed ({error}); pip install --no-deps -r benchmarks/requirements.txt"
    detector = FER()
    found = detector.detect_emotions(frame)
    ms = median_ms(lambda: detector.detect_emotions(frame), repeats)
    return 1000 / ms, f"fer 25.10.3, {len(found)} face(s) found"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="registered name or run folder (default: the shipped model)")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--detector", default=DetectorConfig.backend, help="face detector backend (haar: the old one)")
    args = parser.parse_args()

    predictor = Predictor.load(live_model(args.model))  # what the webcam page runs
    predictor.detector = FaceDetector(DetectorConfig(backend=args.detector))
    frames = stream(FACES / "01_happy.png", args.frames + WARM_UP)
    frame = frames[0].copy()
    boxes = predictor.detector.detect(frame)
    batch = np.repeat(faces_to_batch(frame, boxes[:1]), 256, axis=0)

    live_views = LiveProcessor(predictor).views
    default = run(predictor, [f.copy() for f in frames], LiveConfig().detect_every)
    every_frame = run(predictor, [f.copy() for f in frames], 1)
    figures = {
        "pipeline_fps": default["fps"],
        "pipeline_fps_detect_every_frame": every_frame["fps"],
        "faces_per_s": round(256 / (median_ms(lambda: predictor.classify(batch, live_views), 5) / 1000), 1),
        "faces_per_s_photo_views": round(256 / (median_ms(lambda: predictor.classify(batch), 5) / 1000), 1),
        "single_face_ms": round(median_ms(lambda: predictor.classify(batch[:1], live_views), 100), 2),
        "detector_ms": round(median_ms(lambda: predictor.detector.detect(frame), 50), 2),
        "webcam_detector_ms": round(
            median_ms(lambda: predictor.detector.detect(frame, LiveConfig.detect_width, False), 50), 2
        ),
    }
    baseline, note = fer_baseline_fps(frame, 100)
    figures["baseline_pipeline_fps"] = round(baseline, 1) if baseline else None
    if baseline:
        figures["ratio_to_baseline"] = round(figures["pipeline_fps"] / baseline, 2)

    model = predictor.card.name or args.model or "default"
    print(f"detector {args.detector}; model {model}: webcam {live_views}, photos {predictor.views}; baseline: {note}")
    print("\n| figure | value |\n|---|---|")
    for key, value in figures.items():
        print(f"| {key} | {value} |")
    print()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
