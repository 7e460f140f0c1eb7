"""HTTP API under abuse: stalled uploads' memory and half-sent requests' lifetime, on a server on 127.0.0.1.

    python benchmarks/api_abuse.py [--uploads 6] [--declared-mb 25] [--sent-mb 24] [--repo PATH] [-- SERVE-ARGS...]

Starts ``python -m emotion_core serve`` from ``--repo`` (default: this checkout; another checkout, such as main's,
gives the figures before a change) on a free 127.0.0.1 port, with EMOTION_API_TOKEN set for it (an older server
ignores it). Then:
- ``--uploads`` connections each declare a ``--declared-mb`` multipart body, send ``--sent-mb`` of it and stall; the
  server's resident memory and the temporary files it holds open (where uploads are spooled; memory where the temp
  folder is a tmpfs) are read from /proc before, while stalled, and once every connection is closed or given up;
- a connection that sends nothing, one that sends half a request head, and one whose body stops short of its
  Content-Length: the seconds until the server answers or closes each (at most ``--max-wait`` s);
- /health at the end.
Prints a Markdown table and one JSON line. Figures only: nothing passes or fails. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from process_memory import memory_mb  # beside this script

REPO = Path(__file__).resolve().parent.parent
MAX_UPLOADS, MAX_DECLARED_MB, MAX_WAIT_S = 32, 64, 180  # hard bounds, whatever is asked
BOUNDARY = "abuse"


def main() -> int:
    args = parse_args()
    token = secrets.token_urlsafe(24)
    with server(args, token) as (url, port, pid):
        head = request_head(port, token, args.declared_mb)
        figures: dict[str, object] = {"repo": str(args.repo), "uploads": args.uploads}
        figures |= stalled_uploads(port, pid, head, args)
        figures |= half_sent(port, head, args.max_wait)
        figures["healthy_after"] = httpx.get(f"{url}/health", timeout=10).status_code == 200
    print(table(figures, args))
    print(json.dumps(figures))
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=6, help="stalled uploads at once")
    parser.add_argument("--declared-mb", type=float, default=25.0, help="Content-Length of each, in MB")
    parser.add_argument("--sent-mb", type=float, default=24.0, help="MB of each actually sent before stalling")
    parser.add_argument("--max-wait", type=float, default=90.0, help="seconds to wait for the server to close one")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose server to start")
    parser.add_argument("--model", default=None, help="model for the server (default: the shipped one)")
    parser.add_argument("serve_args", nargs="*", help="more arguments for serve, after --")
    args = parser.parse_args()
    args.uploads = min(MAX_UPLOADS, max(1, args.uploads))
    args.declared_mb = min(MAX_DECLARED_MB, max(0.1, args.declared_mb))
    args.sent_mb = min(args.declared_mb - 0.01, max(0.0, args.sent_mb))
    args.max_wait = min(MAX_WAIT_S, max(1.0, args.max_wait))
    return args


@contextmanager
def server(args: argparse.Namespace, token: str) -> Iterator[tuple[str, int, int]]:
    """``serve`` from ``args.repo`` on a free 127.0.0.1 port: its URL, port and pid; stopped on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "emotion_core", "serve", "--port", str(port), *args.serve_args]
    command += ["--model", args.model] if args.model else []
    env = {**os.environ, "EMOTION_API_TOKEN": token}
    process = subprocess.Popen(command, cwd=args.repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not answer {url}/health (exit status {process.poll()})")
            try:
                httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        time.sleep(1.0)  # settle after the warm-up
        yield url, port, process.pid
    finally:
        process.terminate()
        process.wait(15)


def request_head(port: int, token: str, declared_mb: float) -> bytes:
    """A POST /predict head declaring ``declared_mb`` of multipart body, and the start of its one file part."""
    return (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {int(declared_mb * 2**20)}\r\n\r\n"
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="big.png"\r\n\r\n'
    ).encode()


def stalled_uploads(port: int, pid: int, head: bytes, args: argparse.Namespace) -> dict[str, object]:
    rss_before, spooled_before = memory_mb(pid)
    chunk = b"\x89" * 2**16
    connections, answers = [], []
    for _ in range(args.uploads):
        connection = socket.create_connection(("127.0.0.1", port))
        connections.append(connection)
        try:
            connection.sendall(head)
            left = int(args.sent_mb * 2**20)
            while left > 0:
                left -= connection.send(chunk[: min(left, len(chunk))])
        except OSError:  # refused and closed while sending
            pass
    began = time.monotonic()
    time.sleep(2.0)
    rss_stalled, spooled_stalled = memory_mb(pid)
    for connection in connections:
        connection.settimeout(max(0.1, args.max_wait - (time.monotonic() - began)))
        try:
            answers.append(connection.recv(200).split(b"\r\n")[0].decode("latin-1") or "closed")
        except TimeoutError:
            answers.append("still open")
        except OSError as error:
            answers.append(type(error).__name__)
    closed_s = round(time.monotonic() - began, 1)
    for connection in connections:
        connection.close()
    time.sleep(1.0)
    rss_after, spooled_after = memory_mb(pid)
    return {
        "rss_mb": [rss_before, rss_stalled, rss_after],
        "spooled_mb": [spooled_before, spooled_stalled, spooled_after],
        "answers": answers,
        "uploads_closed_s": closed_s if "still open" not in answers else None,
    }


def half_sent(port: int, head: bytes, max_wait: float) -> dict[str, object]:
    cases = {
        "nothing_sent": b"",
        "half_a_head": b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        "short_body": head + b"\x89PNG",
    }

    def wait(payload: bytes) -> float | None:
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(payload)
            began = time.monotonic()
            connection.settimeout(max_wait)
            try:
                connection.recv(200)
            except TimeoutError:
                return None
            except OSError:
                pass
            return round(time.monotonic() - began, 1)

    with ThreadPoolExecutor(len(cases)) as pool:
        return {f"{name}_closed_s": s for name, s in zip(cases, pool.map(wait, cases.values()), strict=True)}


def table(f: dict, args: argparse.Namespace) -> str:
    def seconds(value: float | None) -> str:
        return "open" if value is None else f"{value} s"

    return "\n".join(
        [
            f"serve from {args.repo}; {args.uploads} uploads declaring {args.declared_mb:g} MB, "
            f"{args.sent_mb:g} MB sent, then stalled (waits capped at {args.max_wait:g} s)",
            "",
            "| what | before | stalled | after closing |",
            "| --- | ---: | ---: | ---: |",
            "| server RSS, MB | " + " | ".join(map(str, f["rss_mb"])) + " |",
            "| spooled temp files, MB | " + " | ".join(map(str, f["spooled_mb"])) + " |",
            "",
            f"uploads answered: {', '.join(sorted(set(f['answers'])))}; all closed after "
            f"{seconds(f['uploads_closed_s'])}",
            f"closed after: nothing sent {seconds(f['nothing_sent_closed_s'])}, half a head "
            f"{seconds(f['half_a_head_closed_s'])}, short body {seconds(f['short_body_closed_s'])}; "
            f"/health afterwards: {'200' if f['healthy_after'] else 'failed'}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
