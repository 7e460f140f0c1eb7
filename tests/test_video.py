"""Video files: a short clip made here (a shared face pasted on grey, drifting), a tiny random model, core and CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emotion_core.classify.network import build_model, save_run
from emotion_core.classify.predictor import Predictor
from emotion_core.labels import EMOTIONS
from emotion_core.live.video import SegmentSummary, analyse_video, probe, results_csv, timeline_rows
from emotion_core.vision.decode import read_image
from tests.conftest import REPO, shared_photo

FRAMES, FPS = 20, 10.0


def write_face_clip(path: Path, face: np.ndarray, frames: int = FRAMES, fps: float = FPS) -> Path:
    """A 480x360 mp4v clip: ``face`` on grey, moving 2 px right per frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (480, 360))
    for i in range(frames):
        frame = np.full((360, 480, 3), 128, np.uint8)
        frame[60 : 60 + face.shape[0], 40 + 2 * i : 40 + 2 * i + face.shape[1]] = face
        writer.write(frame)
    writer.release()
    return path


def frame_count(path: Path) -> int:
    capture, count = cv2.VideoCapture(str(path)), 0
    while capture.grab():
        count += 1
    capture.release()
    return count


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    face = read_image(shared_photo("01_happy.png"))
    return write_face_clip(tmp_path_factory.mktemp("video") / "clip.mp4", face)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random-weight run: the labels are meaningless, the plumbing is what is tested."""
    metadata = {"labels": list(EMOTIONS), "input_size": 48, "architecture": "tiny"}
    return save_run(tmp_path_factory.mktemp("runs") / "tiny", build_model("tiny", len(EMOTIONS)), metadata)


@pytest.fixture(scope="module")
def predictor(tiny_model) -> Predictor:
    return Predictor.load(tiny_model)


def test_every_nth_frame_has_the_face_and_the_annotated_copy_keeps_every_frame(predictor, clip, tmp_path):
    assert probe(clip).frames == FRAMES
    calls = []
    annotated = tmp_path / "annotated.mp4"
    results = list(analyse_video(predictor, clip, every=3, annotated=annotated, progress=lambda *a: calls.append(a)))

    assert [r.index for r in results] == list(range(0, FRAMES, 3))
    assert [r.time_s for r in results] == pytest.approx([i / FPS for i in range(0, FRAMES, 3)])
    assert all(len(r.faces) == 1 for r in results), [len(r.faces) for r in results]
    assert list(results[0].faces[0].scores) == list(EMOTIONS)
    assert calls[-1] == (FRAMES, FRAMES)
    assert frame_count(annotated) == FRAMES

    rows = list(csv.DictReader(results_csv(results, predictor.labels).splitlines()))
    assert [int(r["frame"]) for r in rows] == [r.index for r in results]
    assert rows[0]["emotion"] == results[0].faces[0].emotion and int(rows[0]["w"]) > 50
    assert {r["person"] for r in rows} == {"1"}, "one face drifting slowly stays Person 1"
    timeline = timeline_rows(results, predictor.labels)
    assert len(timeline) == len(results) * len(EMOTIONS) and {r["person"] for r in timeline} == {"Person 1"}


def test_two_people_keep_their_ids_in_the_csv_and_the_timeline(predictor, tmp_path):
    """Two Yale faces drifting apart over 8 frames: each keeps its person id on every frame."""
    left, right = read_image(shared_photo("01_happy.png")), read_image(shared_photo("02_happy.png"))
    path = tmp_path / "two.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (720, 360))
    for i in range(8):
        frame = np.full((360, 720, 3), 128, np.uint8)
        frame[60:303, 30 - 3 * i : 330 - 3 * i] = left[:, 10:310]
        frame[60:303, 390 + 3 * i : 690 + 3 * i] = right[:, 10:310]
        writer.write(frame)
    writer.release()

    results = list(analyse_video(predictor, path))
    rows = list(csv.DictReader(results_csv(results, predictor.labels).splitlines()))
    assert len(rows) == 16, [len(r.faces) for r in results]
    side = {(int(r["x"]) < 360, r["person"]) for r in rows}
    assert len(side) == 2 and {person for _, person in side} == {"1", "2"}
    timeline = timeline_rows(results, predictor.labels)
    assert {r["person"] for r in timeline} == {"Person 1", "Person 2"} and len(timeline) == 16 * len(EMOTIONS)


def test_segments_take_the_emotion_of_their_mean_scores(predictor, clip):
    summary = SegmentSummary(predictor.labels, seconds=1.0)
    results = list(analyse_video(predictor, clip, every=2))
    for result in results:
        summary.add(result)
    segments = summary.rows()
    assert [s["start_s"] for s in segments] == [0.0, 1.0]
    first = [r for r in results if r.time_s < 1.0]
    mean = np.mean([[r.faces[0].scores[e] for e in EMOTIONS] for r in first], axis=0)
    assert segments[0]["emotion"] == EMOTIONS[int(np.argmax(mean))]
    assert segments[0]["frames"] == segments[0]["faces"] == 5


def test_cancel_stops_early_and_still_closes_the_annotated_file(predictor, clip, tmp_path):
    seen = []
    annotated = tmp_path / "part.mp4"
    results = analyse_video(predictor, clip, annotated=annotated, cancel=lambda: len(seen) >= 4)
    for result in results:
        seen.append(result)
    assert len(seen) == 4
    assert frame_count(annotated) == 4


def run_video(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emotion_core", "video", *map(str, args)], cwd=REPO, capture_output=True, text=True
    )


@pytest.mark.slow  # a subprocess
def test_cli_writes_csv_annotated_copy_and_a_summary_line(clip, tiny_model, tmp_path):
    out, annotated = tmp_path / "results.csv", tmp_path / "annotated.mp4"
    done = run_video(clip, "--every", 4, "--out", out, "--annotated", annotated, "--model", tiny_model)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"frames {FRAMES}/{FRAMES} (100%)" in done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["sampled_frames"] == 5 and summary["faces"] == 5
    assert summary["segments"][0]["emotion"] in EMOTIONS
    rows = list(csv.DictReader(out.open()))
    assert [int(r["frame"]) for r in rows] == [0, 4, 8, 12, 16]
    assert [r["person"] for r in rows] == ["1"] * 5
    assert frame_count(annotated) == FRAMES


@pytest.mark.parametrize("content", [b"this is a text file, not a video\n", b""], ids=["text", "empty"])
@pytest.mark.slow  # a subprocess
def test_cli_bad_file_is_one_line_and_exit_1(tmp_path, content):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(content)
    done = run_video(bad)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad) in lines[0], done.stderr
