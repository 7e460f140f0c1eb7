"""HTTP API with a tiny random-weight model: FastAPI's test client for the contract, a real uvicorn on a free port
(in a thread, or ``python -m emotion_core serve`` in a subprocess) for what only a real server shows: tokens, Host
names, rates, half-sent requests and stalled uploads."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from benchmarks.process_memory import memory_mb
from emotion_core.classify.predictor import Predictor
from emotion_core.errors import EmotionCoreError
from emotion_core.labels import EMOTIONS
from emotion_core.serve.api import ApiConfig, create_app, without_paths
from emotion_core.serve.exposure import allowed_hosts, check_exposure, is_loopback, read_token
from emotion_core.serve.guards import RateLimit
from emotion_core.serve.uvicorn_compat import server as uvicorn_server
from tests.conftest import REPO, shared_photo
from tests.test_io import png_claiming


@pytest.fixture(scope="module")
def tiny_model(random_tiny_run: Path) -> Path:
    return random_tiny_run


@pytest.fixture(scope="module")
def predictor(tiny_model: Path) -> Predictor:
    return Predictor.load(tiny_model)


@pytest.fixture(scope="module")
def client(predictor: Predictor) -> Iterator[TestClient]:
    app = create_app(predictor, "tiny", ApiConfig(max_request_bytes=2_000_000, max_files=4))
    with TestClient(app, base_url="http://localhost") as test:  # TestClient's own "testserver" is not an allowed Host
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

    with TestClient(create_app(Broken(), "broken"), base_url="http://127.0.0.1:8000") as broken:  # type: ignore[arg-type]
        response = broken.post("/predict", files={"files": ("a.png", face, "image/png")})
    assert response.status_code == 200
    assert response.json() == [{"image": "a.png", "error": "unexpected RuntimeError: model exploded"}]


def test_a_foreign_host_is_refused_and_the_loopback_names_are_served(client: TestClient) -> None:
    for host in ("evil.example", "evil.example:8000", "127.0.0.2", "localhost.evil.example", "[::2]:80"):
        refused = client.get("/health", headers={"host": host})
        assert refused.status_code == 400 and "host not allowed" in refused.json()["detail"], host
    for host in ("localhost", "LOCALHOST:8000", "127.0.0.1:1", "[::1]:8000"):
        assert client.get("/health", headers={"host": host}).status_code == 200, host


def test_the_rate_limit_refills_per_client_and_its_table_stays_bounded() -> None:
    limit = RateLimit(app=None, per_s=2, burst=3, max_clients=50)  # type: ignore[arg-type]
    assert [limit.take("a", 0.0) for _ in range(4)] == [0, 0, 0, 0.5]
    assert limit.take("b", 0.0) == 0  # another address has its own bucket
    assert limit.take("a", 0.5) == 0 and limit.take("a", 0.5) > 0  # half a second refills one request
    for i in range(500):
        limit.take(f"spoofed-{i}", 1.0)
    assert len(limit.buckets) <= 50


def test_models_and_health_show_no_server_path(
    predictor: Predictor, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "runs" / "broken"
    broken.mkdir(parents=True)
    (broken / "model.keras").write_bytes(b"not a model")
    (broken / "metadata.json").write_text("{bad")
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    with TestClient(create_app(predictor, f"{tiny_model}/"), base_url="http://localhost") as local:
        health, models = local.get("/health"), local.get("/models")
    assert health.json()["model"] == tiny_model.name
    (row,) = [m for m in models.json() if m["model"] == "broken"]
    assert row["problem"].startswith("cannot read metadata.json")  # what is wrong, not where
    for text in (health.text, models.text):
        assert str(tmp_path) not in text and str(tiny_model.parent) not in text and "/tmp" not in text


def test_without_paths_keeps_the_last_part_only() -> None:
    assert without_paths("cannot read /srv/runs/a b/metadata.json: bad") == "cannot read a b/metadata.json: bad"
    assert without_paths("'/home/me/x.png' and C:\\data\\y.png") == "'x.png' and y.png"
    assert without_paths("1/2 of a/b, no path") == "1/2 of a/b, no path"


def test_exposure_needs_a_token_off_loopback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost", "LOCALHOST"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.0.2.7", "my-host"]))
    check_exposure("127.0.0.1", None)
    check_exposure("0.0.0.0", "t" * 20)
    with pytest.raises(EmotionCoreError, match="export EMOTION_API_TOKEN=.* or pass --token-file"):
        check_exposure("0.0.0.0", None)
    assert allowed_hosts(None, "0.0.0.0") == ("localhost", "127.0.0.1", "[::1]")
    assert allowed_hosts(None, "192.0.2.7") == ("localhost", "127.0.0.1", "[::1]", "192.0.2.7")
    assert allowed_hosts("api.example.org, *.lab.example", "::") == ("api.example.org", "*.lab.example")
    monkeypatch.delenv("EMOTION_API_TOKEN", raising=False)
    assert read_token(None) is None
    monkeypatch.setenv("EMOTION_API_TOKEN", "short")
    with pytest.raises(EmotionCoreError, match="under 16 characters"):
        read_token(None)
    token = secrets.token_urlsafe(24)
    (tmp_path / "token").write_text(f"{token}\n")
    assert read_token(str(tmp_path / "token")) == token  # the file wins over the environment
    with pytest.raises(EmotionCoreError) as missing:
        read_token(str(tmp_path / "nothing-here"))
    assert str(tmp_path) not in str(missing.value)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running(app: Any) -> Iterator[str]:
    """``app`` on a real uvicorn (as ``serve`` runs it) on a free 127.0.0.1 port, in a thread; yields its URL."""
    port = free_port()
    server = uvicorn_server(app, "127.0.0.1", port, log_level="warning")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_real_uvicorn_takes_50_concurrent_requests(predictor: Predictor, face: bytes) -> None:
    with running(create_app(predictor, "tiny", ApiConfig(max_concurrent=2))) as url:

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


def test_past_the_rate_a_client_gets_429_with_retry_after(predictor: Predictor) -> None:
    with running(create_app(predictor, "tiny", ApiConfig(rate_per_s=2, rate_burst=3))) as url:
        with httpx.Client(base_url=url) as http:
            codes = [http.get("/health").status_code for _ in range(3)]
            refused = http.get("/models")
            assert codes == [200] * 3 and refused.status_code == 429, (codes, refused.text)
            assert refused.headers["retry-after"] == "1" and "too many requests" in refused.json()["detail"]
            time.sleep(float(refused.headers["retry-after"]))
            assert http.get("/health").status_code == 200  # healthy again once the bucket refills


@dataclass(frozen=True)
class Served:
    """``python -m emotion_core serve`` on a free port, with a token file and short timeouts."""

    url: str
    port: int
    token: str
    process: subprocess.Popen
    log: Path
    header_timeout_s: float = 2.0
    body_timeout_s: float = 3.0

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def served(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    token = secrets.token_urlsafe(24)
    (folder / "token").write_text(f"{token}\n")
    port = free_port()
    command = [sys.executable, "-m", "emotion_core", "serve", "--port", str(port), "--model", str(tiny_model)]
    command += ["--token-file", str(folder / "token"), "--header-timeout", "2", "--body-timeout", "3"]
    command += ["--rate-limit", "100"]
    env = {k: v for k, v in os.environ.items() if k != "EMOTION_API_TOKEN"}
    log = folder / "stderr.txt"
    with open(log, "w") as stderr:
        process = subprocess.Popen(command, cwd=REPO, env=env, stderr=stderr)
    running = Served(f"http://127.0.0.1:{port}", port, token, process, log)
    try:
        deadline = time.monotonic() + 90  # TensorFlow's import and the model's warm-up
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve did not answer /health"
            try:
                httpx.get(f"{running.url}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        yield running
    finally:
        process.terminate()
        process.wait(10)
    assert "Traceback" not in log.read_text()


def synthetic_png() -> bytes:
    import cv2
    import numpy as np

    return cv2.imencode(".png", np.full((60, 80, 3), 128, np.uint8))[1].tobytes()


UNAUTHORIZED = "missing or wrong token: send the header 'Authorization: Bearer <token>'"


@pytest.mark.slow  # a subprocess
def test_the_token_guards_every_route_but_health(served: Served, tiny_model: Path) -> None:
    health = httpx.get(f"{served.url}/health")
    assert health.status_code == 200 and health.json()["model"] == tiny_model.name  # open, and no server path
    wrong = secrets.token_urlsafe(24)
    for path in ("/models", "/docs", "/openapi.json", "/predict", "/nothing"):
        for headers in ({}, {"authorization": f"Bearer {wrong}"}, {"authorization": f"Bearer {served.token[:-1]}"}):
            refused = httpx.get(f"{served.url}{path}", headers=headers)
            assert refused.status_code == 401, (path, headers)
            assert refused.json() == {
                "detail": "missing or wrong token: send the header 'Authorization: Bearer <token>'"
            }
            assert refused.headers["www-authenticate"] == "Bearer"
    models = httpx.get(f"{served.url}/models", headers=served.auth)
    assert models.status_code == 200 and "/tmp" not in models.text and str(tiny_model) not in models.text
    lower = httpx.get(f"{served.url}/models", headers={"authorization": f"bearer {served.token}"})
    assert lower.status_code == 200
    files = {"files": ("a.png", synthetic_png(), "image/png")}
    assert httpx.post(f"{served.url}/predict", files=files).status_code == 401
    answer = httpx.post(f"{served.url}/predict", files=files, headers=served.auth, timeout=30)
    assert answer.status_code == 200 and answer.json() == [{"image": "a.png", "faces": []}]


@pytest.mark.slow  # a subprocess
def test_the_real_server_refuses_a_foreign_host_and_binds_loopback_only(served: Served) -> None:
    for host in ("evil.example", f"rebound.example:{served.port}", "0.0.0.0"):
        refused = httpx.get(f"{served.url}/health", headers={"host": host})
        assert refused.status_code == 400 and "host not allowed" in refused.json()["detail"], host
    assert httpx.get(f"{served.url}/health", headers={"host": f"localhost:{served.port}"}).status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{outward_address()}:{served.port}/health", timeout=2)


def raw_request(port: int, parts: list[bytes], pause_s: float = 0.0, cap_s: float = 15.0) -> tuple[float, bytes]:
    """Send ``parts`` (``pause_s`` apart), then wait: seconds until the server answered or closed, and its answer."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        began = time.monotonic()
        try:
            for part in parts:
                connection.sendall(part)
                time.sleep(pause_s)
        except OSError:  # closed by the server while sending: its answer may still be there to read
            pass
        connection.settimeout(cap_s)
        try:
            answer = connection.recv(65536)
        except TimeoutError:
            answer = b"(still open)"
        except OSError as error:
            answer = f"({error.__class__.__name__})".encode()
        return time.monotonic() - began, answer


@pytest.mark.slow  # a subprocess
def test_half_sent_requests_are_closed_within_the_timeouts(served: Served) -> None:
    head = f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nAuthorization: Bearer {served.token}\r\n"
    multipart, body_s = "Content-Type: multipart/form-data; boundary=b\r\n", served.body_timeout_s
    part = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n\x89PNG'
    cases = {
        "nothing": ([b""], 0.0, served.header_timeout_s),
        "half a head": ([b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"], 0.0, served.header_timeout_s),
        "a head trickled": ([bytes([c]) for c in b"GET /health HTTP/1.1\r\nHost: x\r\n"], 0.3, served.header_timeout_s),
        "a short body": ([f"{head}{multipart}Content-Length: 1000\r\n\r\n".encode() + part], 0.0, body_s),
    }
    with ThreadPoolExecutor(len(cases)) as pool:
        answers = pool.map(lambda case: raw_request(served.port, case[0], case[1]), cases.values())
        results = dict(zip(cases, answers, strict=True))
    for name, (seconds, answer) in results.items():
        limit = cases[name][2]
        assert limit - 0.5 <= seconds <= limit + 2.5, (name, seconds, answer)
        assert answer.startswith(b"HTTP/1.1 408 "), (name, answer)
    # Answered without reading its body (not multipart: a 422 at once), the connection closes with the answer.
    with socket.create_connection(("127.0.0.1", served.port)) as connection:
        connection.sendall(f"{head}Content-Length: 1000\r\n\r\n".encode())
        connection.settimeout(served.body_timeout_s)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 422 ") and b"connection: close" in answer.lower()
    assert httpx.get(f"{served.url}/health").status_code == 200


@pytest.mark.slow  # a subprocess
def test_six_stalled_25_mb_uploads_leave_memory_bounded_and_are_closed(served: Served) -> None:
    if not Path(f"/proc/{served.process.pid}/status").is_file():
        pytest.skip("needs /proc to read the server's memory")
    declared, sent = 25 * 2**20, 3 * 2**20  # each declares 25 MB, sends 3 MB (past the 1 MB spool threshold), stalls
    boundary = "stall"
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nAuthorization: Bearer {served.token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {declared}\r\n\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n\r\n'
    ).encode()
    rss_before, spooled_before = memory_mb(served.process.pid)
    connections = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(6)]
    began = time.monotonic()
    try:
        for connection in connections:
            connection.sendall(head + b"\x89" * sent)
        time.sleep(0.5)  # the server reads what was sent
        rss, spooled = memory_mb(served.process.pid)
        grew = rss - rss_before + spooled - spooled_before
        assert grew <= 150, f"RSS {rss_before:.0f} -> {rss:.0f} MB, spooled {spooled_before:.0f} -> {spooled:.0f} MB"
        answers = []
        for connection in connections:
            connection.settimeout(served.body_timeout_s + 5)
            answers.append(connection.recv(200).split(b"\r\n")[0])
        seconds = time.monotonic() - began
    finally:
        for connection in connections:
            connection.close()
    # Five fit the 128 MB of bodies being received at once; the sixth is told to retry. All five are cut at 3 s.
    admitted = ApiConfig().max_receiving_bytes // declared
    assert sorted(answers) == [b"HTTP/1.1 408 Request Timeout"] * admitted + [b"HTTP/1.1 503 Service Unavailable"] * (
        6 - admitted
    )
    assert seconds <= served.body_timeout_s + 2.5
    time.sleep(0.5)
    rss_after, spooled_after = memory_mb(served.process.pid)
    assert spooled_after <= spooled_before + 1 and rss_after - rss_before <= 150
    assert httpx.get(f"{served.url}/health").status_code == 200


@pytest.mark.slow  # a subprocess (it refuses before loading any model)
def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EMOTION_API_TOKEN"}
    port = free_port()
    refused = subprocess.run(
        [sys.executable, "-m", "emotion_core", "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "--host 0.0.0.0" in line and "EMOTION_API_TOKEN" in line and "--token-file" in line
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


@pytest.mark.slow  # a subprocess
def test_the_server_is_healthy_at_the_end(served: Served) -> None:
    assert served.process.poll() is None
    assert httpx.get(f"{served.url}/health").json()["status"] == "ok"
    assert httpx.get(f"{served.url}/models", headers=served.auth).status_code == 200


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
