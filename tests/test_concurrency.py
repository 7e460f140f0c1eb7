"""Two sessions at once through one shared Predictor: a webcam stream of face A and photo uploads of face B each
get exactly the answers they get alone. Also: the shared caches are bounded, and two simultaneous launches
start one run."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading

import numpy as np
import pytest

from emotion_core.actors import SHELL
from emotion_core.classify.predictor import Predictor
from emotion_core.errors import LimitError
from emotion_core.labels import EMOTIONS
from emotion_core.live.webcam import LiveProcessor
from emotion_core.vision.decode import read_image
from tests.conftest import REPO, shared_photo
from tests.test_live import webcam_frame

FRAMES, PHOTOS = 24, 24


@pytest.fixture(scope="module")
def shared_predictor(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    """A real tiny Keras model, with weights scaled up so different faces get clearly different probabilities."""
    import keras

    from emotion_core.classify.network import build_model, save_run

    keras.utils.set_random_seed(0)  # the initial weights too: unseeded, some draws told A and B apart too little
    model = build_model("tiny", len(EMOTIONS))
    rng = np.random.default_rng(0)
    model.set_weights([w + rng.normal(0, 0.2, w.shape).astype(w.dtype) for w in model.get_weights()])
    run = tmp_path_factory.mktemp("shared")
    save_run(run, model, {"labels": list(EMOTIONS), "input_size": 48})
    return Predictor.load(run)


def stream_a() -> list[np.ndarray]:
    """Face A drifting a pixel per frame, so every frame (and a frame swapped with another) is distinct."""
    base = webcam_frame("01_happy.png")
    return [np.roll(base, i, axis=1) for i in range(FRAMES)]


def run_stream(predictor: Predictor, frames: list[np.ndarray]) -> list[tuple]:
    processor = LiveProcessor(predictor)
    out = []
    for frame in frames:
        annotated = processor.process(frame.copy())
        result = processor.drain()[-1]
        out.append((annotated, [(f.box, f.scores) for f in result.faces]))
    return out


def run_photos(predictor: Predictor, photo: np.ndarray) -> list[list]:
    return [[(f.box, f.scores) for f in predictor.predict(photo)] for _ in range(PHOTOS)]


def same_faces(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        box_a == box_b and np.allclose(list(sa.values()), list(sb.values()), atol=1e-6)
        for (box_a, sa), (box_b, sb) in zip(a, b, strict=True)
    )


def test_a_webcam_stream_and_a_photo_share_a_predictor_without_mixing(shared_predictor):
    frames, photo = stream_a(), read_image(shared_photo("03_sad.png"))
    alone_stream = run_stream(shared_predictor, frames)
    alone_photo = run_photos(shared_predictor, photo)[0]
    assert alone_photo and all(faces for _, faces in alone_stream), "both images have a face"
    a_scores, b_scores = list(alone_stream[0][1][0][1].values()), list(alone_photo[0][1].values())
    assert np.abs(np.subtract(a_scores, b_scores)).max() > 0.01, (
        "A and B must be told apart for the test to mean anything"
    )

    together: dict[str, list] = {}
    start = threading.Barrier(2)

    def webcam() -> None:
        start.wait()
        together["stream"] = run_stream(shared_predictor, frames)

    def uploads() -> None:
        start.wait()
        together["photos"] = run_photos(shared_predictor, photo)

    threads = [threading.Thread(target=webcam), threading.Thread(target=uploads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert len(together["stream"]) == FRAMES and len(together["photos"]) == PHOTOS
    for i, ((frame, faces), (frame_alone, faces_alone)) in enumerate(
        zip(together["stream"], alone_stream, strict=True)
    ):
        assert same_faces(faces, faces_alone), f"webcam frame {i} differs from its answer alone"
        assert np.array_equal(frame, frame_alone), f"webcam frame {i} was drawn differently"
    for i, faces in enumerate(together["photos"]):
        assert same_faces(faces, alone_photo), f"photo call {i} differs from its answer alone"


def test_shared_caches_in_pages_are_bounded():
    """cache_resource/cache_data entries live for the server's lifetime and across sessions: each needs max_entries."""
    for source in sorted((REPO / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    func = getattr(decorator, "func", decorator)
                    if getattr(func, "attr", "") in ("cache_resource", "cache_data"):
                        keywords = {k.arg for k in getattr(decorator, "keywords", [])}
                        assert "max_entries" in keywords, f"{source.name}: {node.name} has an unbounded cache"


def test_two_launches_at_the_same_moment_start_one_run(tmp_path, monkeypatch, tiny_zip):
    """The launch lock makes check-then-start atomic: of two sessions clicking together, one gets the run."""
    from train import launcher
    from train.config import TrainConfig

    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def fake_trainer(argv, log):  # a sleeping process named like a trainer: no TensorFlow, no CPU
        process = real_popen([sys.executable, "-c", "import time; time.sleep(60)", "train"], start_new_session=True)
        started.append(process)
        return process

    monkeypatch.setattr(launcher, "start_process", fake_trainer)
    config = TrainConfig(data=str(tiny_zip), architecture="tiny", epochs=1)
    outcomes: list[object] = []
    gate = threading.Barrier(2)

    def click() -> None:
        gate.wait()
        try:
            outcomes.append(launcher.launch(config, SHELL))
        except LimitError as error:
            outcomes.append(error)

    try:
        threads = [threading.Thread(target=click) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(started) == 1
        assert sorted(type(o).__name__ for o in outcomes) == ["JobStatus", "LimitError"]
    finally:
        for process in started:
            process.kill()
            process.wait()
