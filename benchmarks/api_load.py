"""HTTP API under load: N concurrent clients POST a photo to /predict on a real server on 127.0.0.1.

    python benchmarks/api_load.py [--clients 1,8,50] [--requests 100] [--max-seconds 60] [--model M] [--url URL]

Starts ``python -m emotion_core serve`` on a free local port (or uses ``--url``, which must be a loopback address;
requests carry ``Authorization: Bearer $EMOTION_API_TOKEN`` when that is set), then for each client count sends
``--requests`` requests (one shared Yale photo each) from that many threads, each level stopped after
``--max-seconds``. Prints a Markdown table (requests/s, p50/p95 latency, errors) and one JSON line.
Figures only: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import httpx

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO.parent / "shared" / "data" / "faces" / "01_happy.png"
MAX_CLIENTS, MAX_REQUESTS, MAX_SECONDS = 64, 5000, 300  # hard bounds, whatever is asked


def main() -> int:
    args = parse_args()
    image = PHOTO.read_bytes() if PHOTO.is_file() else synthetic_png()
    rows = []
    with server(args) as url:
        for clients in args.clients:
            rows.append(load(url, image, clients, args.requests, args.max_seconds))
    print(table(rows, PHOTO.name if PHOTO.is_file() else "synthetic 320x240 PNG"))
    print(json.dumps(rows))
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,8,50", help="comma-separated concurrent client counts")
    parser.add_argument("--requests", type=int, default=100, help="requests per client count")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time limit per client count")
    parser.add_argument("--model", default=None, help="model for the started server (default: the shipped one)")
    parser.add_argument("--url", default=None, help="an already running server on 127.0.0.1 instead")
    args = parser.parse_args()
    args.clients = [min(MAX_CLIENTS, max(1, int(c))) for c in args.clients.split(",")]
    args.requests = min(MAX_REQUESTS, max(1, args.requests))
    args.max_seconds = min(MAX_SECONDS, max(1.0, args.max_seconds))
    if args.url is not None and not is_loopback(args.url):
        parser.error(f"--url must point at this machine (127.0.0.1, ::1 or localhost), not {args.url}")
    return args


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host == "localhost" or (_is_ip(host) and ipaddress.ip_address(host).is_loopback)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@contextmanager
def server(args: argparse.Namespace) -> Iterator[str]:
    """The given URL, or a ``serve`` subprocess on a free 127.0.0.1 port, stopped on exit."""
    if args.url is not None:
        yield args.url.rstrip("/")
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "emotion_core", "serve", "--port", str(port)]
    command += ["--model", args.model] if args.model else []
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(15)


def wait_healthy(url: str, process: subprocess.Popen, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode} before answering")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"no answer from {url}/health within {timeout_s:.0f} s")


def load(url: str, image: bytes, clients: int, requests: int, max_seconds: float) -> dict[str, float | int]:
    """Send ``requests`` POSTs from ``clients`` threads (each its own connection); stop early at ``max_seconds``."""
    latencies: list[float] = []
    errors = [0]
    left = [requests]
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        with httpx.Client(base_url=url, timeout=max_seconds, headers=auth_header()) as http:
            while time.monotonic() < deadline:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                start = time.perf_counter()
                try:
                    response = http.post("/predict", files={"files": ("face.png", image, "image/png")})
                    ok = response.status_code == 200 and "faces" in response.json()[0]
                except (httpx.HTTPError, ValueError, KeyError, IndexError):
                    ok = False
                with lock:
                    latencies.append(time.perf_counter() - start)
                    errors[0] += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    done = len(latencies)
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "requests": done,
        "errors": errors[0],
        "requests_per_s": round(done / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else 0.0,
        "p95_ms": round(1000 * ordered[min(done - 1, int(0.95 * done))], 1) if ordered else 0.0,
        "max_ms": round(1000 * ordered[-1], 1) if ordered else 0.0,
    }


def auth_header() -> dict[str, str]:
    """The bearer token a server started with EMOTION_API_TOKEN needs (it inherits this environment)."""
    token = os.environ.get("EMOTION_API_TOKEN", "").strip()
    return {"authorization": f"Bearer {token}"} if token else {}


def table(rows: list[dict[str, float | int]], image: str) -> str:
    lines = [
        f"POST /predict, one {image} per request, server on 127.0.0.1",
        "",
        "| clients | requests | errors | requests/s | p50 ms | p95 ms | max ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['requests_per_s']} | {r['p50_ms']} | "
        f"{r['p95_ms']} | {r['max_ms']} |"
        for r in rows
    ]
    return "\n".join(lines)


def synthetic_png() -> bytes:
    """A grey 320x240 PNG (no face) where the shared photos are absent: it measures the server's overhead."""
    import cv2
    import numpy as np

    return cv2.imencode(".png", np.full((240, 320, 3), 128, np.uint8))[1].tobytes()


if __name__ == "__main__":
    sys.exit(main())
