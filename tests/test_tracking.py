"""Tracker on synthetic boxes: crossing faces keep their ids, a short miss gets the id back, smoothing is per track."""

from __future__ import annotations

import pytest

from emotion_core.live import tracking
from emotion_core.live.tracking import Tracker, TrackerConfig, iou, person_label
from emotion_core.records import Detection


@pytest.fixture(params=["hungarian", "greedy"])
def solver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each test with scipy's assignment and with the greedy fallback."""
    if request.param == "greedy":
        monkeypatch.setattr(tracking, "linear_sum_assignment", None)
    elif tracking.linear_sum_assignment is None:
        pytest.skip("scipy not installed")
    return request.param


def crossing(step: int) -> list[tuple[int, int, int, int]]:
    """Two 100 px faces 40 px apart vertically, one moving right and one left, passing over each other at step 10."""
    return [(20 + 12 * step, 100, 100, 100), (260 - 12 * step, 140, 100, 100)]


def test_two_faces_moving_and_crossing_keep_their_ids(solver: str) -> None:
    tracker = Tracker()
    ids = []
    for step in range(21):
        boxes = crossing(step)
        # Detections come largest first, so their order swaps arbitrarily; ids must follow the boxes, not the order.
        order = [1, 0] if step % 3 else [0, 1]
        faces = [Detection(boxes[i]) for i in order]
        tracked = tracker.update(faces)
        ids.append({face.box: face.track_id for face in tracked})
    right_mover = [frame[crossing(step)[0]] for step, frame in enumerate(ids)]
    left_mover = [frame[crossing(step)[1]] for step, frame in enumerate(ids)]
    assert set(right_mover) == {1} and set(left_mover) == {2}
    assert iou(crossing(10)[0], crossing(10)[1]) > 0.3  # they really did overlap on the way


def test_a_face_missing_a_few_frames_gets_its_id_back(solver: str) -> None:
    tracker = Tracker(TrackerConfig(max_missed=5))
    still = (300, 50, 80, 80)
    assert [f.track_id for f in tracker.update([(0, 0, 80, 80), still])] == [1, 2]
    for _ in range(4):  # person 1 is missed for 4 frames
        assert [f.track_id for f in tracker.update([still])] == [2]
    assert tracker.active == 2
    back = tracker.update([still, (24, 6, 80, 80)])
    assert [f.track_id for f in back] == [2, 1]


def test_past_the_grace_period_a_face_is_a_new_person(solver: str) -> None:
    tracker = Tracker(TrackerConfig(max_missed=2))
    tracker.update([(0, 0, 80, 80)])
    for _ in range(3):
        tracker.update([])
    assert tracker.active == 0
    assert [f.track_id for f in tracker.update([(0, 0, 80, 80)])] == [2]


def test_a_fast_move_is_matched_by_centroid_and_far_faces_are_not(solver: str) -> None:
    tracker = Tracker()
    tracker.update([(0, 0, 100, 100)])
    (moved,) = tracker.update([(55, 0, 100, 100)])  # IoU 0.29: below match_iou, centre 55 px away
    assert moved.track_id == 1
    (far,) = tracker.update([(400, 0, 100, 100)])
    assert far.track_id == 2


def test_smoothing_is_per_track_so_two_people_never_blend(solver: str) -> None:
    tracker = Tracker(TrackerConfig(smoothing=0.5))
    happy, sad = {"happy": 1.0, "sad": 0.0}, {"happy": 0.0, "sad": 1.0}
    a, b = (0, 0, 80, 80), (300, 0, 80, 80)
    for _ in range(5):
        first, second = tracker.update([a, b], [happy, sad])
    assert first.scores == {"happy": 1.0, "sad": 0.0} and second.scores == {"happy": 0.0, "sad": 1.0}
    # Person 1 turns sad: their average moves halfway per frame; person 2's is untouched.
    first, second = tracker.update([a, b], [sad, sad])
    assert first.scores == pytest.approx({"happy": 0.5, "sad": 0.5}) and second.scores == sad
    (first,) = tracker.update([a], [sad])
    assert first.scores == pytest.approx({"happy": 0.25, "sad": 0.75})
    assert first.emotion == "sad" and first.confidence == pytest.approx(0.75)


def test_plain_boxes_reset_and_bad_input() -> None:
    tracker = Tracker()
    assert tracker.update([(0, 0, 10, 10)])[0].scores == {}
    tracker.reset()
    assert tracker.update([(0, 0, 10, 10)])[0].track_id == 1
    with pytest.raises(ValueError, match="2 score sets for 1 faces"):
        tracker.update([(0, 0, 10, 10)], [{}, {}])
    with pytest.raises(ValueError, match="smoothing"):
        Tracker(TrackerConfig(smoothing=0))


def test_person_label() -> None:
    assert person_label(2, "happy", 0.812) == "Person 2: happy 81 %"
    assert person_label(3, None, 0.0) == "Person 3"
