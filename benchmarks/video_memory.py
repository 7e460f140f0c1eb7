"""Memory and speed of video-file analysis: a long clip streams through in flat memory.

    python benchmarks/video_memory.py [--minutes 10] [--fps 10] [--every 5] [--annotated] [--model NAME_OR_PATH]

Writes a 640x480 mp4v clip (a shared Yale face pasted on grey, drifting a few pixels) to a temp dir,
then runs what ``python -m emotion_core video CLIP --every N --out CSV`` runs: analyse_video, a CSV
row per face, the segment summary. Peak RSS is resource.getrusage's high-water mark; "growth" is
how far it rose during the analysis, against what holding every decoded frame would take.
frames_per_s counts every frame decoded (sampled or not). Figures only; ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.live.video import SegmentSummary, analyse_video, csv_writer, frame_rows, probe  # noqa: E402
from emotion_core.vision.decode import read_image  # noqa: E402

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
SIZE = (640, 480)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_clip(path: Path, photo: Path, frames: int, fps: float) -> None:
    """One frame at a time, like the analysis: the clip is never in memory as a whole."""
    face = read_image(photo)
    h, w = face.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE)
    background = np.full((SIZE[1], SIZE[0], 3), 128, np.uint8)
    for i in range(frames):
        frame = background.copy()
        dx, dy = round(40 * math.sin(i / 50)), round(20 * math.cos(i / 70))
        top, left = (SIZE[1] - h) // 2 + dy, (SIZE[0] - w) // 2 + dx
        frame[top : top + h, left : left + w] = face
        writer.write(frame)
    writer.release()


def analyse(predictor: Predictor, clip: Path, every: int, out: Path, annotated: Path | None) -> dict:
    summary = SegmentSummary(predictor.labels)
    sampled = faces = 0
    started = time.perf_counter()
    with out.open("w", newline="") as file:
        rows = csv_writer(file, predictor.labels)
        for result in analyse_video(predictor, clip, every, annotated):
            summary.add(result)
            rows.writerows(frame_rows(result))
            sampled, faces = sampled + 1, faces + len(result.faces)
    return {"seconds": time.perf_counter() - started, "sampled": sampled, "faces": faces, "segments": summary.rows()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=10.0, help="10 keeps the clip quick to write; 30 is a webcam's")
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--annotated", action="store_true", help="also write the annotated copy")
    parser.add_argument("--model", default=None, help="registered name or run folder (default: the shipped model)")
    parser.add_argument("--photo", default=str(FACES / "01_happy.png"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="video-memory-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        started = time.perf_counter()
        write_clip(clip, Path(args.photo), round(args.minutes * 60 * args.fps), args.fps)
        write_s = time.perf_counter() - started
        info = probe(clip)
        predictor = Predictor.load(args.model)
        before = peak_rss_mb()
        annotated = Path(tmp) / "annotated.mp4" if args.annotated else None
        done = analyse(predictor, clip, args.every, Path(tmp) / "out.csv", annotated)
        peak = peak_rss_mb()
        clip_mb = clip.stat().st_size / 2**20

    figures = {
        "clip": {
            "minutes": args.minutes,
            "fps": args.fps,
            "frames": info.frames,
            "size": list(SIZE),
            "file_mb": round(clip_mb, 1),
            "write_s": round(write_s, 1),
        },
        "every": args.every,
        "annotated": args.annotated,
        "sampled_frames": done["sampled"],
        "faces_found": done["faces"],
        "analyse_s": round(done["seconds"], 1),
        "frames_per_s": round(info.frames / done["seconds"], 1),
        "sampled_frames_per_s": round(done["sampled"] / done["seconds"], 1),
        "peak_rss_mb": round(peak, 1),
        "rss_before_analysis_mb": round(before, 1),
        "rss_growth_during_analysis_mb": round(peak - before, 1),
        "all_frames_decoded_mb": round(info.frames * SIZE[0] * SIZE[1] * 3 / 2**20, 1),
        "segments": len(done["segments"]),
    }
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
