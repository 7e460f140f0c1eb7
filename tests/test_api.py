"""HTTP API with a tiny random-weight model: FastAPI's test client for the contract, a real uvicorn on a free port."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from emotion_core.classify.network import build_model, save_run
from emotion_core.classify.predictor import Predictor
from emotion_core.labels import EMOTIONS
from emotion_core.serve.api import ApiConfig, create_app
from tests.conftest import REPO, shared_photo
from tests.test_io import png_claiming


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    metadata = {"labels": list(EMOTIONS), "input_size": 48, "architecture": "tiny"}
    return save_run(tmp_path_factory.mktemp("runs") / "tiny", build_model("tiny", len(EMOTIONS)), metadata)


@pytest.fixture(scope="module")
def predictor(tiny_model: Path) -> Predictor:
    return Predictor.load(tiny_model)


@pytest.fixture(scope="module")
def client(predictor: Predictor) -> Iterator[TestClient]:
    with TestClient(create_app(predictor, "tiny", ApiConfig(max_request_bytes=2_000_000, max_files=4))) as test:
        yield test


@pytest.fixture(scope="module")
def face() -> bytes:
    return shared_photo("01_happy.png").read_bytes()


def test_predict_answers_each_file_in_order_with_the_cli_records(client: TestClient, face: bytes) -> None:
    truncated = face[:400]
    files = [
        ("files", ("a.png", face, "image/png")),
        ("files", ("notes.jpg", b"not an image", "image/jpeg")),
        ("files", ("empty.png", b"", "image/png")),
        ("files", ("half.png", truncated, "image/png")),
    ]
    response = client.post("/predict", files=files)
    assert response.status_code == 200
    records = response.json()
    assert [r["image"] for r in records] == ["a.png", "notes.jpg", "empty.png", "half.png"]
    (found,) = records[0]["faces"]
    assert set(records[0]) == {"image", "faces"} and set(found) == {"box", "emotion", "scores"}
    assert list(found["scores"]) == list(EMOTIONS) and found["emotion"] == max(found["scores"], key=found["scores"].get)
    assert 0 <= found["box"][0] and found["box"][2] > 50
    for record in records[1:]:
        assert set(record) == {"image", "error"} and record["error"] and "\n" not in record["error"]
    assert "not an image" in records[1]["error"] and "empty" in records[2]["error"]


def test_a_pixel_bomb_is_an_error_record(client: TestClient) -> None:
    response = client.post("/predict", files={"files": ("bomb.png", png_claiming(60000, 60000), "image/png")})
    assert response.status_code == 200
    (record,) = response.json()
    assert "pixels" in record["error"]


def test_over_the_size_limit_is_413_declared_or_streamed(client: TestClient) -> None:
    big = b"\0" * 2_100_000
    declared = client.post("/predict", files={"files": ("big.png", big, "image/png")})
    assert declared.status_code == 413 and "limit" in declared.json()["detail"]

    boundary = "x-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n\r\n').encode()
    body += big + f"\r\n--{boundary}--\r\n".encode()
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))  # no Content-Length: chunked
    streamed = client.post(
        "/predict", content=chunks, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert streamed.status_code == 413 and "limit" in streamed.json()["detail"]


def test_too_many_files_is_413(client: TestClient, face: bytes) -> None:
    response = client.post("/predict", files=[("files", (f"{i}.png", b"x", "image/png")) for i in range(5)])
    assert response.status_code == 413 and "at most 4" in response.json()["detail"]


def test_a_missing_files_field_is_422_with_a_clear_message(client: TestClient, face: bytes) -> None:
    for response in (
        client.post("/predict"),
        client.post("/predict", files={"image": ("a.png", face, "image/png")}),
        client.post("/predict", json={"files": "a.png"}),
    ):
        assert response.status_code == 422
        assert response.json() == {
            "detail": "no file sent: upload one or more images in the multipart field 'files'"
        }, response.text


def test_health_models_and_docs(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "model": "tiny", "labels": list(EMOTIONS)}
    models = client.get("/models").json()
    assert models[0]["model"] == "default" and all("serving" in m for m in models)
    spec = client.get("/openapi.json").json()
    assert {"/predict", "/health", "/models"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_an_unexpected_failure_is_a_record_not_a_traceback(predictor: Predictor, face: bytes) -> None:
    class Broken:
        labels = predictor.labels

        def predict(self, image: object) -> list:
            raise RuntimeError("model\nexploded")

    with TestClient(create_app(Broken(), "broken")) as broken:  # type: ignore[arg-type]
        response = broken.post("/predict", files={"files": ("a.png", face, "image/png")})
    assert response.status_code == 200
    assert response.json() == [{"image": "a.png", "error": "unexpected RuntimeError: model exploded"}]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_real_uvicorn_takes_50_concurrent_requests(predictor: Predictor, face: bytes) -> None:
    import uvicorn

    port = free_port()
    app = create_app(predictor, "tiny", ApiConfig(max_concurrent=2))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"

        def call(i: int) -> httpx.Response:
            files = {"files": (f"{i}.png", face if i % 5 else b"junk", "image/png")}
            return httpx.post(f"{url}/predict", files=files, timeout=60)

        with ThreadPoolExecutor(50) as pool:
            responses = list(pool.map(call, range(50)))
        assert [r.status_code for r in responses] == [200] * 50
        records = [r.json()[0] for r in responses]
        assert [r["image"] for r in records] == [f"{i}.png" for i in range(50)]
        assert all(("error" in r) == (i % 5 == 0) for i, r in enumerate(records))
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
    finally:
        server.should_exit = True
        thread.join(10)


def test_serve_command_binds_localhost_and_answers(tiny_model: Path, face: bytes) -> None:
    port = free_port()
    command = [sys.executable, "-m", "emotion_core", "serve", "--port", str(port), "--model", str(tiny_model)]
    server = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90  # TensorFlow's import and the model's warm-up
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "serve did not answer /health"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert health.json()["model"] == str(tiny_model)
        answer = httpx.post(f"http://127.0.0.1:{port}/predict", files={"files": ("a.png", face)}, timeout=30)
        assert len(answer.json()[0]["faces"]) == 1
        with pytest.raises(httpx.TransportError):  # bound to the loopback address only
            httpx.get(f"http://{outward_address()}:{port}/health", timeout=2)
    finally:
        server.terminate()
        server.wait(10)
    assert "Traceback" not in (server.stderr.read() if server.stderr else "")


def outward_address() -> str:
    """This machine's address on its default route (a UDP 'connect' sends nothing); skip where it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, only used to pick the interface
        except OSError:
            pytest.skip("no non-loopback interface to check the bind address against")
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("no non-loopback interface to check the bind address against")
    return address
