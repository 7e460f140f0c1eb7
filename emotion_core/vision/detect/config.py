"""Settings of face detection, shared by the detector and its backends."""

from __future__ import annotations

from dataclasses import dataclass

# Smallest image side worth searching: nothing below 20 px holds a face the 48x48 model can read.
MIN_SIDE = 20


@dataclass(frozen=True)
class DetectorConfig:
    backend: str = "yunet"  # a name in emotion_core.vision.detect.backends.BACKENDS; "haar" is the no-landmark fallback
    # Faces scoring below this are dropped. YuNet scores real faces 0.8-0.99; 0.6 removed every extra box on the
    # benchmark variants while keeping every face (benchmarks/detector.py).
    min_confidence: float = 0.6
    # Downscale wider images to this before the first pass: a 640x480 frame costs ~26 ms with YuNet.
    # The webcam passes a smaller width (LiveConfig.detect_width): its faces are large.
    detect_width: int = 640
    # Second pass for small faces in big photos: the image scaled to at most this width, searched in
    # overlapping tiles of at most 960 px (YuNet's own advice on input size). 2048 keeps a 60 px face of a
    # 4000 px photo at ~30 px, which YuNet finds. It runs when the image is at least ``fine_from`` px on its
    # longer side, or the first pass (which downscaled it) found nothing.
    fine_width: int = 2048
    fine_from: int = 1600
    tile: int = 960
    tile_overlap: int = 160  # a face smaller than this (at fine scale) lies whole in some tile
    # A box covering more than this fraction of a more confident box is the same face (a tile's partial view).
    same_face_overlap: float = 0.5
    # YuNet's eyes on a tilted face lean towards level (20° reads as ~8°, 35° as ~15°; BlazeFace reads them
    # within 3°). A face tilted more than ``refine_from`` degrees is looked at again turned upright by that
    # angle, up to ``refine_steps`` times, each halving the error; the view is at most ``refine_side`` px.
    refine_from: float = 3.0
    refine_steps: int = 4
    refine_steps_fast: int = 1  # the webcam's one-pass detection: one re-read keeps it within its frame budget
    refine_side: int = 240
    # Haar only: pyramid step, hits per face, smallest face as a fraction of the shorter side.
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face_fraction: float = 0.08
