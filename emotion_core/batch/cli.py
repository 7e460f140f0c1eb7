"""``python -m emotion_core batch INPUT... --out results.parquet|.csv [--every N] [--model M] [--engine local|ray]``.

Progress bar on stderr, a summary line on stderr at the end and the summary as one JSON line on stdout.
Exit 0 when the job finished (failed files are rows, not failures), 1 for bad arguments, output or model, 2 for a
missing Ray, 130 when interrupted (rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import json
import sys

from emotion_core.errors import EmotionCoreError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="folders (recursive), zips, globs, images, videos")
    parser.add_argument("--out", required=True, help="results file, .parquet or .csv (rerun to resume)")
    parser.add_argument("--every", type=int, default=1, metavar="N", help="analyse every Nth video frame (default 1)")
    parser.add_argument("--model", default=None, help="model name or run folder (default: the shipped model)")
    parser.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local threads, or Ray (RAY_ADDRESS, else a local Ray)",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="decode+detect threads, or a local Ray's CPUs (default 4)"
    )
    parser.add_argument("--progress-file", default=None, help=argparse.SUPPRESS)  # the dashboard's progress JSON


def batch(args: argparse.Namespace) -> int:
    from emotion_core.batch.job import BatchConfig, run_batch
    from emotion_core.batch.ray_engine import check_ray
    from emotion_core.errors import RayMissingError

    extra = {"workers": args.workers} if args.workers else {}
    config = BatchConfig(
        tuple(args.inputs), args.out, args.every, args.model, args.engine, progress_file=args.progress_file, **extra
    )
    try:
        config.validate()
        if config.engine == "ray":
            check_ray()
    except RayMissingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, EmotionCoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        summary = run_batch(config)
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    except (EmotionCoreError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(summary.line(), file=sys.stderr)
    print(json.dumps(summary.to_dict()), flush=True)
    return 0
