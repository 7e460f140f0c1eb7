"""Recording of a live stream: the saved CSV has one row per person per frame, and the per-person time shares."""

from __future__ import annotations

import csv

import pytest

from emotion_core.live.recording import Recording
from emotion_core.live.webcam import LiveFace, LiveResult, StageTimes

LABELS = ["happy", "sad"]


def face(person: int, happy: float) -> LiveFace:
    scores = {"happy": happy, "sad": 1 - happy}
    emotion = max(scores, key=scores.__getitem__)
    return LiveFace((0, 0, 10, 10), emotion, scores[emotion], scores, person)


def frame(t: float, *faces: LiveFace) -> LiveResult:
    return LiveResult(t, 30.0, tuple(faces), StageTimes(0, 0, 0))


def test_saved_csv_has_a_row_per_person_per_frame_and_the_summary_shares() -> None:
    recording = Recording(LABELS)
    recording.add([frame(100.0, face(1, 0.9), face(2, 0.2)), frame(100.5, face(1, 0.8))])
    recording.add([frame(101.0), frame(101.25, face(1, 0.3), face(2, 0.1)), frame(102.0, face(1, 0.7))])

    rows = list(csv.DictReader(recording.to_csv().splitlines()))
    assert list(rows[0]) == ["time_s", "person", "emotion", "happy", "sad"]
    assert [(r["time_s"], r["person"], r["emotion"]) for r in rows] == [
        ("0.000", "1", "happy"),
        ("0.000", "2", "sad"),
        ("0.500", "1", "happy"),
        ("1.250", "1", "sad"),
        ("1.250", "2", "sad"),
        ("2.000", "1", "happy"),
    ]
    assert float(rows[1]["happy"]) == pytest.approx(0.2) and float(rows[1]["sad"]) == pytest.approx(0.8)

    first, second = recording.summary()
    assert (first.person, first.frames, first.seen_s) == (1, 4, 2.0)
    assert first.shares == {"happy": 0.75, "sad": 0.25}
    assert (second.person, second.frames, second.shares) == (2, 2, {"happy": 0.0, "sad": 1.0})
    assert second.to_row() == {"person": "Person 2", "frames": 2, "seen_s": 1.2, "happy": 0.0, "sad": 1.0}


def test_a_full_recording_counts_what_it_no_longer_keeps() -> None:
    recording = Recording(LABELS, max_rows=3)
    recording.add([frame(float(t), face(1, 0.9)) for t in range(5)])
    assert len(recording) == 3 and recording.skipped == 2
    assert Recording(LABELS).summary() == [] and Recording(LABELS).to_csv() == "time_s,person,emotion,happy,sad\r\n"
