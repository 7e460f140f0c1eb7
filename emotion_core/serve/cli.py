"""``python -m emotion_core predict [--model M] [--explain DIR] IMG...``: one JSON line per image, in input order.

``python -m emotion_core video CLIP [--every N] [--out CSV] [--annotated MP4]``: progress on stderr, a summary
JSON line on stdout.

``python -m emotion_core serve [--host 127.0.0.1] [--port 8000] [--model M] [--token-file F] [--allowed-hosts H,...]``:
the HTTP API (emotion_core.serve.api); a non-loopback --host needs a token (emotion_core.serve.exposure).

``python -m emotion_core hash-password``: the hash of a dashboard admin password (asked twice, or read from stdin)
for .streamlit/secrets.toml's ``[auth] admin_password_hash`` or $EMOTION_ADMIN_PASSWORD_HASH.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emotion_core.errors import EmotionCoreError
from emotion_core.settings import apply_process_defaults

if TYPE_CHECKING:  # imported where used: they load TensorFlow, which --help and a bad argument need not wait for
    from emotion_core.classify.explain import Explainer
    from emotion_core.classify.predictor import Predictor


def cli(argv: list[str] | None = None) -> int:
    """``python -m emotion_core`` and the ``emotion`` command: parse, run one subcommand, return the exit status."""
    apply_process_defaults()
    parser = argparse.ArgumentParser(prog="python -m emotion_core", description="Facial emotion recognition.")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="faces and emotion probabilities for each image")
    predict.add_argument("images", nargs="+", metavar="IMG", help="image files (any format Pillow decodes)")
    predict.add_argument("--model", default=None, help="model name or run folder (default: the shipped model)")
    predict.add_argument("--explain", metavar="OUTDIR", default=None, help="write a Grad-CAM overlay PNG per face here")
    _add_video_parser(commands)
    _add_serve_parser(commands)
    _add_batch_parser(commands)
    commands.add_parser("hash-password", help="hash a dashboard admin password (for secrets.toml or the environment)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "video":
        return _video(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "batch":
        from emotion_core.batch.cli import batch

        return batch(args)
    if args.command == "hash-password":
        return _hash_password()
    return _predict(args.images, args.model, args.explain)


def _hash_password() -> int:
    """Ask for the password twice on a terminal (one line on stdin otherwise); print its hash and where it goes."""
    import getpass

    from emotion_core.passwords import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Admin password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    stored = hash_password(password)
    print(stored)
    print(f'# in .streamlit/secrets.toml:  [auth]  admin_password_hash = "{stored}"', file=sys.stderr)
    print(f"# or in the environment:      EMOTION_ADMIN_PASSWORD_HASH='{stored}'", file=sys.stderr)
    return 0


def _load_predictor(model: str | None) -> Predictor | None:
    """The model, or None after printing the one-line reason (exit status 2: the command could not start)."""
    from emotion_core.classify.predictor import Predictor

    try:
        return Predictor.load(model)
    except (EmotionCoreError, OSError, ValueError) as error:
        print(f"error: cannot load model: {error}", file=sys.stderr)
        return None


def _predict(images: list[str], model: str | None, explain: str | None = None) -> int:
    from emotion_core.classify.predictor import image_record
    from emotion_core.vision.decode import read_image

    predictor = _load_predictor(model)
    if predictor is None:
        return 2
    explainer: Explainer | None = None
    used_stems: set[str] = set()
    if explain is not None:
        from emotion_core.classify.explain import Explainer

        try:
            Path(explain).mkdir(parents=True, exist_ok=True)
            explainer = Explainer(predictor.model)
        except (OSError, TypeError) as error:
            print(f"error: --explain {explain}: {error}", file=sys.stderr)
            return 2
    failed = 0
    for path in images:
        annotate = None
        if explainer is not None and explain is not None:
            stem = Path(explain) / _explanation_stem(path, used_stems)

            def annotate(image: Any, faces: list, record: dict, stem: Path = stem) -> None:
                _write_explanations(predictor, explainer, image, faces, record, stem)

        record = image_record(predictor, path, partial(read_image, path), annotate)
        failed += "error" in record
        print(json.dumps(record), flush=True)
    return 1 if failed else 0


def _explanation_stem(path: str, used: set[str]) -> str:
    """A file-name stem from an input path: letters, digits, '-', '_' only (so '../x' or odd bytes cannot escape
    the folder), made unique among this run's inputs with '-2', '-3'... (a/x.png and b/x.png)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(path).stem).strip("_")[:80] or "image"
    unique, copy = stem, 1
    while unique in used:
        copy += 1
        unique = f"{stem}-{copy}"
    used.add(unique)
    return unique


def _write_explanations(predictor: Any, explainer: Any, image: Any, faces: list, record: dict, stem: Path) -> None:
    """One Grad-CAM overlay PNG per face, '<stem>_face<i>.png' with i its place in the JSON list."""
    import cv2

    from emotion_core.classify.explain import explain_faces

    for index, picture in enumerate(explain_faces(predictor, image, faces, explainer)):
        target = stem.with_name(f"{stem.name}_face{index}.png")
        if not cv2.imwrite(str(target), picture):
            raise EmotionCoreError(f"cannot write {target}")
        record["faces"][index]["explanation"] = str(target)


def _add_video_parser(commands: Any) -> None:
    video = commands.add_parser("video", help="emotions over time in a video file")
    video.add_argument("clip", metavar="CLIP", help="a video file (any container/codec OpenCV's FFmpeg reads)")
    video.add_argument("--every", type=int, default=1, metavar="N", help="analyse every Nth frame (default 1)")
    video.add_argument("--segment", type=float, default=5.0, metavar="S", help="summary segment length in seconds")
    video.add_argument("--out", metavar="CSV", default=None, help="write one row per face per analysed frame")
    video.add_argument("--annotated", metavar="MP4", default=None, help="write a copy with boxes and labels (mp4v)")
    video.add_argument("--model", default=None, help="model name or run folder (default: the shipped model)")


def _add_batch_parser(commands: Any) -> None:
    from emotion_core.batch.cli import add_arguments

    add_arguments(commands.add_parser("batch", help="one row per face over folders, zips, globs, images, videos"))


def _video(args: argparse.Namespace) -> int:
    """Stream the clip; stdout's one line is the summary JSON. Exit 1 for a bad clip, 2 for a bad model."""
    # FFmpeg's and OpenCV's own complaints about a broken file would bury our one-line error (set before cv2 loads).
    from emotion_core.live.video import probe

    if args.every < 1 or args.segment <= 0:
        print("error: --every must be 1 or more and --segment positive", file=sys.stderr)
        return 1
    try:
        probe(args.clip)  # before the model: a bad file is answered without seconds of TensorFlow start-up
    except EmotionCoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    predictor = _load_predictor(args.model)
    if predictor is None:
        return 2
    try:
        summary = _stream_video(predictor, args)
    except (EmotionCoreError, OSError) as error:
        print(f"\nerror: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ncancelled", file=sys.stderr)
        return 130
    print(json.dumps(summary), flush=True)
    return 0


def _stream_video(predictor: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Analyse the clip, writing CSV rows as frames come (memory stays flat), and return the summary record."""
    from contextlib import ExitStack

    from emotion_core.live.video import SegmentSummary, analyse_video, csv_writer, frame_rows

    summary = SegmentSummary(predictor.labels, args.segment)
    sampled = faces = 0
    with ExitStack() as stack:
        rows = csv_writer(stack.enter_context(open(args.out, "w", newline="")), predictor.labels) if args.out else None
        for result in analyse_video(predictor, args.clip, args.every, args.annotated, _progress_printer()):
            summary.add(result)
            sampled, faces = sampled + 1, faces + len(result.faces)
            if rows is not None:
                rows.writerows(frame_rows(result))
    return {
        "video": args.clip,
        "every": args.every,
        "sampled_frames": sampled,
        "faces": faces,
        "segment_s": args.segment,
        "segments": summary.rows(),
        "csv": args.out,
        "annotated": args.annotated,
    }


def _progress_printer() -> Any:
    """'frames 120/18000 (1%)' on stderr: rewritten in place on a terminal, a new line per percent otherwise."""
    terminal, shown = sys.stderr.isatty(), [-1]

    def report(done: int, total: int) -> None:
        percent = min(100, 100 * done // total) if total else -1
        if terminal or percent != shown[0]:
            shown[0] = percent
            text = f"frames {done}/{total} ({percent}%)" if total else f"frames {done}"
            print(text, end="\r" if terminal else "\n", file=sys.stderr, flush=True)

    return report


def _add_serve_parser(commands: Any) -> None:
    serve = commands.add_parser("serve", help="HTTP API: POST /predict with image files, GET /health, /models, /docs")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 picks a free one)")
    serve.add_argument("--model", default=None, help="model name or run folder (default: the shipped model)")
    serve.add_argument("--workers", type=int, default=2, metavar="N", help="requests classified at once (default 2)")
    serve.add_argument(
        "--token-file",
        default=None,
        metavar="FILE",
        help="require 'Authorization: Bearer <token>', the token on FILE's first line (default: $EMOTION_API_TOKEN)",
    )
    serve.add_argument(
        "--allowed-hosts",
        default=None,
        metavar="H,...",
        help="Host names served, any port; '*' for any (default: localhost,127.0.0.1,[::1] and a specific --host)",
    )
    serve.add_argument("--rate-limit", type=float, default=20.0, metavar="R", help="requests/s per client (0: none)")
    serve.add_argument("--header-timeout", type=float, default=10.0, metavar="S", help="seconds to send headers")
    serve.add_argument("--body-timeout", type=float, default=60.0, metavar="S", help="seconds to send a body")


def _serve(args: argparse.Namespace) -> int:
    """Load the model once, then serve until interrupted.

    Exit 2 for a bad model or an exposed address without a token (checked first, in milliseconds), 1 for bad
    numbers or when the port cannot be bound.
    """
    if not 0 <= args.port <= 65535 or args.workers < 1 or args.rate_limit < 0:
        print("error: --port must be 0..65535, --workers 1 or more and --rate-limit 0 or more", file=sys.stderr)
        return 1
    if args.header_timeout <= 0 or args.body_timeout <= 0:
        print("error: --header-timeout and --body-timeout must be positive", file=sys.stderr)
        return 1
    from emotion_core.serve.exposure import allowed_hosts, check_exposure, read_token

    try:
        token = read_token(args.token_file)
        check_exposure(args.host, token)
    except EmotionCoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        from emotion_core.serve.api import ApiConfig, create_app
        from emotion_core.serve.uvicorn_compat import server as uvicorn_server
    except ImportError as error:
        print(f"error: the API needs FastAPI and uvicorn ({error}): pip install -r requirements.txt", file=sys.stderr)
        return 1
    from emotion_core.classify.registry import DEFAULT_NAME

    predictor = _load_predictor(args.model)
    if predictor is None:
        return 2
    hosts = allowed_hosts(args.allowed_hosts, args.host)
    config = ApiConfig(
        max_concurrent=args.workers,
        token=token,
        allowed_hosts=hosts,
        rate_per_s=args.rate_limit,
        rate_burst=max(1, round(3 * args.rate_limit)),
        body_timeout_s=args.body_timeout,
    )
    app = create_app(predictor, args.model or DEFAULT_NAME, config)
    print(f"serving on {args.host}:{args.port} for Host names {','.join(hosts)}", file=sys.stderr)
    if token is not None:
        print("every route but /health needs the header 'Authorization: Bearer <token>'", file=sys.stderr)
    server = uvicorn_server(
        app, args.host, args.port, args.header_timeout, log_level="info", access_log=False, server_header=False
    )
    try:
        server.run()
    except KeyboardInterrupt:
        return 0
    # uvicorn logs a bind failure (port in use) and returns without serving.
    return 0 if server.started else 1
