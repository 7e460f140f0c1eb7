"""LiveProcessor on a real Yale face pasted into a 640x480 grey frame, with a tiny model or a scripted one."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from emotion_core.classify.card import ModelCard
from emotion_core.classify.predictor import Predictor
from emotion_core.labels import EMOTIONS
from emotion_core.live.tracking import TrackerConfig, iou
from emotion_core.live.webcam import EmotionHistory, LiveConfig, LiveFace, LiveProcessor, LiveResult, StageTimes
from emotion_core.vision.decode import read_image
from emotion_core.vision.detect import FaceDetector
from tests.conftest import shared_photo


def webcam_frame(photo: str = "01_happy.png") -> np.ndarray:
    """A 640x480 BGR frame, mid grey, with a 320x243 Yale photo pasted in the middle (like a webcam view)."""
    face = read_image(shared_photo(photo))
    frame = np.full((480, 640, 3), 128, np.uint8)
    top, left = (480 - face.shape[0]) // 2, (640 - face.shape[1]) // 2
    frame[top : top + face.shape[0], left : left + face.shape[1]] = face
    return frame


class ScriptedModel:
    """Stands in for Keras: returns the next of ``outputs`` for every face of each call, cycling."""

    def __init__(self, *outputs: dict[str, float]) -> None:
        self.outputs = [np.array([o.get(e, 0.0) for e in EMOTIONS], np.float32) for o in outputs]
        self.calls = 0
        self.batch_sizes: list[int] = []

    def __call__(self, faces: np.ndarray, training: bool = False) -> np.ndarray:
        out = self.outputs[self.calls % len(self.outputs)]
        self.calls += 1
        self.batch_sizes.append(len(faces))
        return np.tile(out, (len(faces), 1))


class CountingDetector(FaceDetector):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def detect(self, image: np.ndarray, detect_width: int | None = None, second_pass: bool = True) -> list:
        self.calls += 1
        return super().detect(image, detect_width, second_pass)


def scripted_predictor(*outputs: dict[str, float], inference: dict | None = None) -> Predictor:
    model = ScriptedModel(*outputs)
    metadata = {"labels": list(EMOTIONS), "input_size": 48, "inference": inference or {}}
    return Predictor(model, ModelCard.from_metadata(metadata), CountingDetector(), forward=model)


@pytest.fixture(scope="module")
def tiny_predictor(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    """A real Keras model (untrained tiny CNN) saved and loaded like any run: its accuracy is irrelevant here."""
    from emotion_core.classify.network import build_model, save_run

    run = tmp_path_factory.mktemp("tiny")
    save_run(run, build_model("tiny", len(EMOTIONS)), {"labels": list(EMOTIONS), "input_size": 48})
    return Predictor.load(run)


def test_finds_the_face_classifies_and_draws(tiny_predictor: Predictor) -> None:
    frame = webcam_frame()
    before = frame.copy()
    processor = LiveProcessor(tiny_predictor)

    out = processor.process(frame)

    assert out is frame and out.shape == (480, 640, 3) and out.dtype == np.uint8
    (result,) = processor.drain()
    assert isinstance(result, LiveResult) and isinstance(result.times, StageTimes)
    (face,) = result.faces
    assert isinstance(face, LiveFace)
    x, y, w, h = face.box
    assert 160 <= x and x + w <= 480 and 118 <= y and y + h <= 362  # inside the pasted photo
    assert list(face.scores) == list(EMOTIONS) and sum(face.scores.values()) == pytest.approx(1, abs=1e-4)
    assert face.emotion == max(face.scores, key=face.scores.get) and face.confidence == face.scores[face.emotion]
    assert result.times.detect_ms > 0 and result.times.classify_ms > 0
    changed = np.any(out != before, axis=2)
    assert changed[y - 30 : y + h + 2, x - 2 : x + w + 2].sum() > 2 * (w + h)  # box outline and label
    assert not changed[:, :100].any()  # nothing drawn far from the face


def test_records_carry_fps_and_timestamps(tiny_predictor: Predictor) -> None:
    processor = LiveProcessor(tiny_predictor)
    frame = webcam_frame()
    for _ in range(5):
        processor.process(frame.copy())

    results = processor.drain()

    assert len(results) == 5 and processor.drain() == []
    assert results[0].fps == 0.0 and all(r.fps > 0 for r in results[1:])
    assert [r.timestamp for r in results] == sorted(r.timestamp for r in results)


def test_queue_keeps_the_newest_records_under_a_burst() -> None:
    processor = LiveProcessor(scripted_predictor({"happy": 1.0}), LiveConfig(queue_size=4))
    frame = webcam_frame()
    stamps = []
    for _ in range(25):  # no reader: a blocking put would hang this test
        processor.process(frame.copy())
        stamps.append(processor.results.queue[-1].timestamp)

    assert processor.results.qsize() == 4 and processor.dropped == 21
    assert [r.timestamp for r in processor.drain()] == stamps[-4:]


def test_smoothing_keeps_the_label_from_flickering() -> None:
    # Raw outputs alternate happy/sad every frame; on average sad leads, so a steady label is sad.
    a, b = {"happy": 0.6, "sad": 0.4}, {"happy": 0.2, "sad": 0.8}
    processor = LiveProcessor(scripted_predictor(a, b), LiveConfig(tracker=TrackerConfig(smoothing=0.25)))
    frame = webcam_frame()
    labels = []
    for _ in range(30):
        processor.process(frame.copy())
        labels.append(processor.drain()[-1].faces[0].emotion)

    flips = sum(x != y for x, y in zip(labels, labels[1:], strict=False))
    assert flips <= 1  # raw labels flip 29 times
    assert labels[-10:] == ["sad"] * 10


def test_detection_skipping_reuses_boxes() -> None:
    predictor = scripted_predictor({"neutral": 1.0})
    processor = LiveProcessor(predictor, LiveConfig(detect_every=4))
    frame = webcam_frame()
    for _ in range(9):
        processor.process(frame.copy())
    results = processor.drain()

    assert predictor.detector.calls == 3  # frames 0, 4 and 8
    assert [r.times.detect_ms > 0 for r in results] == [True, False, False, False] * 2 + [True]
    assert len({r.faces[0].box for r in results}) == 1
    assert predictor.model.calls == 9  # every frame is still classified


def test_webcam_classifies_the_mirror_pair_only_unless_asked_for_every_view() -> None:
    six_views = {"flip_average": True, "zooms": [0.9, 1.0, 1.1]}
    for config, batch in ((LiveConfig(), 2), (LiveConfig(zoom_views=True), 6)):
        predictor = scripted_predictor({"happy": 1.0}, inference=six_views)
        LiveProcessor(predictor, config).process(webcam_frame())
        assert predictor.model.batch_sizes == [batch]  # one face, one call with all its views
    photo = scripted_predictor({"happy": 1.0}, inference=six_views)
    photo.predict(webcam_frame())
    assert photo.model.batch_sizes == [6]


def test_redetects_at_once_when_no_face_or_new_frame_size() -> None:
    predictor = scripted_predictor({"neutral": 1.0})
    processor = LiveProcessor(predictor, LiveConfig(detect_every=10))
    empty = np.full((480, 640, 3), 128, np.uint8)
    for _ in range(3):
        processor.process(empty.copy())
    assert predictor.detector.calls == 3  # nothing tracked: look again on every frame

    processor.process(webcam_frame())
    processor.process(webcam_frame())
    assert predictor.detector.calls == 4  # a face is tracked: the second frame reuses its box

    processor.process(np.full((240, 320, 3), 128, np.uint8))
    assert predictor.detector.calls == 5  # the stream changed size: old boxes mean nothing
    assert processor.drain()[-1].faces == ()


def test_concurrent_frames_and_reader_do_not_break() -> None:
    processor = LiveProcessor(scripted_predictor({"happy": 1.0}), LiveConfig(queue_size=8))
    frame = webcam_frame()
    seen: list[LiveResult] = []
    workers = [threading.Thread(target=lambda: [processor.process(frame.copy()) for _ in range(10)]) for _ in range(2)]
    for worker in workers:
        worker.start()
    while any(w.is_alive() for w in workers):
        seen += processor.drain()
    seen += processor.drain()

    assert len(seen) + processor.dropped == 20
    assert all(len(r.faces) == 1 for r in seen)


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def _result(t: float, happy: float | None, person: int = 1) -> LiveResult:
    scores = {"happy": happy, "sad": 1 - happy} if happy is not None else {}
    faces = () if happy is None else (LiveFace((0, 0, 1, 1), "happy", happy, scores, person),)
    return LiveResult(t, 30.0, faces, StageTimes(0, 0, 0))


def test_history_averages_each_poll_into_one_row_per_person() -> None:
    history = EmotionHistory(window_s=10)
    two = LiveResult(101, 30.0, _result(0, 0.4).faces + _result(0, 0.9, person=2).faces, StageTimes(0, 0, 0))
    history.add([_result(100, 0.2), two, _result(101.5, None)])
    history.add([_result(102, None)])  # no face seen in this poll: no row

    assert history.long_rows(now=101) == [
        {"seconds": 0.0, "person": "Person 1", "emotion": "happy", "probability": pytest.approx(0.3)},
        {"seconds": 0.0, "person": "Person 1", "emotion": "sad", "probability": pytest.approx(0.7)},
        {"seconds": 0.0, "person": "Person 2", "emotion": "happy", "probability": pytest.approx(0.9)},
        {"seconds": 0.0, "person": "Person 2", "emotion": "sad", "probability": pytest.approx(0.1)},
    ]


def test_history_forgets_rows_older_than_the_window() -> None:
    history = EmotionHistory(window_s=10)
    history.add([_result(100, 0.2)])
    history.add([_result(115, 0.9)])

    assert [row["seconds"] for row in history.long_rows(now=115)] == [0.0, 0.0]
    assert history.long_rows(now=200) == [] and EmotionHistory().long_rows() == []


def two_person_frame(shift: int = 0) -> np.ndarray:
    """Two Yale faces side by side in a 640x480 frame, the left one ``shift`` px further right."""
    frame = np.full((480, 640, 3), 128, np.uint8)
    left, right = read_image(shared_photo("01_happy.png")), read_image(shared_photo("02_happy.png"))
    frame[100 : 100 + left.shape[0], shift : shift + 300] = left[:, 10:310]
    frame[100 : 100 + right.shape[0], 330:630] = right[:, 10:310]
    return frame


def test_two_people_get_their_own_ids_labels_and_averages() -> None:
    predictor = scripted_predictor({"happy": 1.0})
    processor = LiveProcessor(predictor, LiveConfig(detect_every=1))
    before = two_person_frame()
    out = processor.process(before.copy())
    for shift in (4, 8):
        processor.process(two_person_frame(shift))
    results = processor.drain()

    assert [len(r.faces) for r in results] == [2, 2, 2], "both Yale faces are found"
    by_side = [{"left" if f.box[0] < 300 else "right": f.track_id for f in r.faces} for r in results]
    assert by_side == [by_side[0]] * 3 and set(by_side[0].values()) == {1, 2}
    assert results[-1].faces[0].label.startswith(f"Person {results[-1].faces[0].track_id}: happy 100 %")
    assert np.any(out != before)

    processor.reset()
    processor.process(two_person_frame())
    assert {f.track_id for f in processor.drain()[0].faces} == {1, 2}
