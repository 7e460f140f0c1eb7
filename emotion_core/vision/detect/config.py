"""Settings of face detection, shared by the detector and its backends."""

from __future__ import annotations

from dataclasses import dataclass, field

# Smallest image side worth searching: nothing below 20 px holds a face the 48x48 model can read.
MIN_SIDE = 20


@dataclass(frozen=True)
class FaceCheck:
    """What a box must show before it is reported as a face (``checks.py``); measured in benchmarks/RESULTS.md.

    YuNet draws boxes on things that are not faces (a motorbike's headlight at 0.60-0.77 depending on scale, a
    dog, plain background beside a portrait). Real photos score 0.92 or more (TCFE, Yale); only hard variants
    (35° tilt, γ 2.5 dark, a face cut by the frame) score lower.
    """

    # The five landmarks' shape, in eye gaps (distance between the eyes) along and across the eye line. Real faces
    # (1,323 in Yale, its variants and TCFE): eye gap 0.23-0.58 of the box width, nose 0.40-1.57 gaps below the
    # eyes and 0.26+ above the mouth, nose at most 0.63 gaps from the eyes' midpoint sideways. The bounds are wider.
    eye_gap: tuple[float, float] = (0.15, 0.8)  # of the box's width
    nose_below_eyes: float = 0.15
    mouth_below_nose: float = 0.05
    mouth_below_eyes: float = 3.0  # at most
    nose_sideways: float = 1.0  # at most, from the eyes' midpoint
    mouth_width: tuple[float, float] = (0.3, 1.8)
    landmark_margin: float = 0.2  # landmarks may lie this fraction of the box's side outside it
    # A box scoring below ``sure`` is looked at again: a view turned upright by its eye angle, ``pad`` times the
    # box's side, at each size in ``sides`` px; the mean score must reach ``confirm``. A face scores alike at
    # every size (means: 35° tilt 0.86+, γ 2.5 dark 0.80+); the headlight does not (0 to 0.88 by size, means
    # 0.40-0.75 at four scales of the photo). Real photos score above ``sure`` and cost nothing extra; the four
    # looks together cost about a third of a 640x480 pass.
    sure: float = 0.9
    confirm: float = 0.8
    pad: float = 2.0
    sides: tuple[int, ...] = (96, 128, 160, 200)
    # A box reaching within this fraction of its own side of the frame's edge is a face the frame cuts: half a face
    # cannot confirm itself (YuNet scores such faces 0 to 0.85 on a second look), so its first score stands.
    # YuNet ends such a box up to ~7 % of its width short of the edge.
    edge: float = 0.1


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
    check: FaceCheck = field(default_factory=FaceCheck)
    # Haar only: pyramid step, hits per face, smallest face as a fraction of the shorter side.
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_face_fraction: float = 0.08
