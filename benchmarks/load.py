"""Load on the core as the dashboard puts it there: many photo uploads at once, and a webcam under a slow model.

    python benchmarks/load.py photos [--threads 8] [--images 200] [--model NAME_OR_PATH]
    python benchmarks/load.py webcam [--seconds 120] [--fps 30] [--model-delay 0.1]
    python benchmarks/load.py            # both

photos: N threads (sessions) each send ``--images`` of the 50 shared Yale photos, as bytes, through
analyse_photo (decode -> detect -> classify -> draw: the Photo page's work) on ONE shared Predictor, as
the cached one is shared. Throughput, p50/p95 latency, errors, and answers that differ from the same
photo's answer alone (mixed-up results) are counted.

webcam: a 30 frames/s 640x480 stream for ``--seconds`` through a LiveProcessor whose model sleeps
``--model-delay`` s per call, on the threads streamlit-webrtc uses: the camera pushes frames, the
worker takes the newest (dropping stale ones, as streamlit-webrtc's async processing does), and the page
polls results every 0.5 s but stalls for 10 s in the middle (a frozen browser tab). Reports whether the
result queue stayed within its bound, frames processed and skipped, and peak/final RSS.

Figures only, never pass/fail; each run ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import queue
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webcam_fps import FACES, stream  # noqa: E402

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.classify.predictor import Predictor  # noqa: E402
from emotion_core.live.webcam import LiveConfig, LiveProcessor  # noqa: E402
from emotion_core.serve.photos import analyse_photo  # noqa: E402

POLL_S = 0.5  # pages/webcam.py's polling period


def rss_mb() -> float:
    """Resident memory now (Linux /proc), in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def photos(predictor: Predictor, threads: int, images: int) -> dict:
    files = [(p.name, p.read_bytes()) for p in sorted(FACES.glob("*.png"))]
    alone = {name: _answer(analyse_photo(predictor, name, data)) for name, data in files}
    latencies: list[float] = []
    errors, mixed = [0], [0]
    lock = threading.Lock()
    gate = threading.Barrier(threads)

    def session(offset: int) -> None:
        gate.wait()
        for i in range(images):
            name, data = files[(offset + i) % len(files)]
            started = time.perf_counter()
            try:
                result = analyse_photo(predictor, name, data)
                failed, differs = result.error is not None, _answer(result) != alone[name]
            except Exception:  # a crash counts as an error; the run goes on
                failed, differs = True, False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                errors[0] += failed
                mixed[0] += differs

    rss_before = rss_mb()
    started = time.perf_counter()
    workers = [threading.Thread(target=session, args=(k * 7,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    return {
        "benchmark": "load_photos",
        "threads": threads,
        "requests": len(latencies),
        "wall_s": round(wall, 1),
        "photos_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "errors": errors[0],
        "answers_differing_from_alone": mixed[0],
        "rss_before_mb": round(rss_before, 0),
        "rss_after_mb": round(rss_mb(), 0),
    }


def _answer(result) -> tuple:
    """What a user sees for a photo: boxes, labels, probabilities (rounded to absorb float noise)."""
    if result.error is not None:
        return ("error", result.error)
    return tuple((f.box, f.emotion, tuple(round(v, 4) for v in f.scores.values())) for f in result.faces)


def webcam(predictor: Predictor, seconds: float, fps: float, model_delay: float, stall_s: float = 10.0) -> dict:
    forward = predictor.forward

    def slow_forward(faces: np.ndarray) -> np.ndarray:
        time.sleep(model_delay)  # a model (or a machine) too slow for the frame rate
        return forward(faces)

    predictor.forward = slow_forward
    config = LiveConfig()
    processor = LiveProcessor(predictor, config)
    frames = stream(FACES / "01_happy.png", 120)
    incoming: queue.Queue[np.ndarray] = queue.Queue()
    stop = threading.Event()
    counts = {"offered": 0, "processed": 0, "skipped_stale": 0, "max_incoming": 0, "max_results": 0, "drained": 0}
    rss_samples = [rss_mb()]

    def camera() -> None:
        period, next_at, i = 1.0 / fps, time.perf_counter(), 0
        while not stop.is_set():
            incoming.put(frames[i % len(frames)].copy())
            counts["offered"] += 1
            counts["max_incoming"] = max(counts["max_incoming"], incoming.qsize())
            i += 1
            next_at += period
            time.sleep(max(0.0, next_at - time.perf_counter()))

    def worker() -> None:
        while not stop.is_set():
            try:
                frame = incoming.get(timeout=0.1)
            except queue.Empty:
                continue
            while True:  # take the newest frame: older ones are stale by now
                try:
                    frame = incoming.get_nowait()
                    counts["skipped_stale"] += 1
                except queue.Empty:
                    break
            processor.process(frame)
            counts["processed"] += 1
            counts["max_results"] = max(counts["max_results"], processor.results.qsize())

    threads = [threading.Thread(target=camera), threading.Thread(target=worker)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stall_from = seconds / 2 - stall_s / 2
    while (now := time.perf_counter() - started) < seconds:
        if not stall_from <= now < stall_from + stall_s:  # the page polls, except while its tab is frozen
            counts["drained"] += len(processor.drain())
        rss_samples.append(rss_mb())
        time.sleep(POLL_S)
    stop.set()
    for thread in threads:
        thread.join()
    predictor.forward = forward
    return {
        "benchmark": "load_webcam",
        "seconds": seconds,
        "fps_offered": fps,
        "model_delay_s": model_delay,
        "frames_offered": counts["offered"],
        "frames_processed": counts["processed"],
        "frames_skipped_stale": counts["skipped_stale"],
        "processed_fps": round(counts["processed"] / seconds, 1),
        "max_incoming_backlog": counts["max_incoming"],
        "queue_bound": config.queue_size,
        "max_results_queued": counts["max_results"],
        "queue_bound_held": counts["max_results"] <= config.queue_size,
        "results_dropped_oldest": processor.dropped,
        "results_drained": counts["drained"],
        "rss_start_mb": round(rss_samples[0], 0),
        "rss_end_mb": round(rss_samples[-1], 0),
        "rss_peak_sampled_mb": round(max(rss_samples), 0),
        "peak_rss_process_mb": round(peak_rss_mb(), 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["photos", "webcam", "both"], default="both")
    parser.add_argument("--model", default=None, help="registered name or run folder (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent photo sessions")
    parser.add_argument("--images", type=int, default=200, help="photos per session")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the simulated webcam stream")
    parser.add_argument("--fps", type=float, default=30.0, help="frames/s the camera sends")
    parser.add_argument("--model-delay", type=float, default=0.1, help="seconds added to every model call")
    args = parser.parse_args()

    predictor = Predictor.load(args.model)
    if args.mode in ("photos", "both"):
        row = photos(predictor, args.threads, args.images)
        print(
            f"photos: {row['requests']} in {row['wall_s']} s = {row['photos_per_s']}/s, p50 {row['p50_ms']} ms, "
            f"p95 {row['p95_ms']} ms, errors {row['errors']}, mixed-up {row['answers_differing_from_alone']}"
        )
        print(json.dumps(row), flush=True)
    if args.mode in ("webcam", "both"):
        row = webcam(predictor, args.seconds, args.fps, args.model_delay)
        print(
            f"webcam: {row['frames_processed']}/{row['frames_offered']} frames processed "
            f"({row['processed_fps']}/s), result queue max {row['max_results_queued']} of {row['queue_bound']}, "
            f"dropped {row['results_dropped_oldest']}, RSS {row['rss_start_mb']}->{row['rss_end_mb']} MB "
            f"(peak {row['peak_rss_process_mb']} MB)"
        )
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
