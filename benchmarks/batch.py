"""Batch-job figures: images/s, peak RSS (the whole process tree, Ray's workers included) and the time to
resume after ``kill -9`` at 50 %, for the local engine and local Ray with 2 workers.

Input: N images, FER2013 train members from ../shared/data/fer2013/fer2013.zip repeated (cycled into one zip of N
members) plus the Yale photos in ../shared/data/faces. ``python benchmarks/batch.py --n 100000`` (the default);
use a smaller --n on a small machine. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from emotion_core.settings import apply_process_defaults  # noqa: E402

apply_process_defaults()  # an entry point: yuface's OpenMP waits passively, TensorFlow is quiet

from emotion_core.paths import SHARED_DATA  # noqa: E402

FER = SHARED_DATA / "fer2013" / "fer2013.zip"
FACES = SHARED_DATA / "faces"


def make_input(root: Path, n: int) -> list[str]:
    """A zip of n FER2013 train images (cycled) and the photos folder: n + 50 units."""
    target = root / f"fer-{n}.zip"
    if not target.exists():
        with zipfile.ZipFile(FER) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
            names = [i.filename for i in source.infolist() if i.filename.startswith("train/") and not i.is_dir()]
            cache = {}
            for i in range(n):
                name = names[i % len(names)]
                data = cache.get(name) or cache.setdefault(name, source.read(name))
                out.writestr(f"{i // 1000:03d}/{i:06d}.jpg", data)
    return [str(target), str(FACES)]


def tree_rss(pid: int) -> int:
    """Resident bytes of pid and all its descendants (Ray's raylet and workers are descendants of the driver)."""
    total, seen, todo = 0, set(), [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            pass
    return total


def run(inputs: list[str], out: Path, engine: str, kill_at: float | None = None) -> dict:
    """One job; with kill_at, SIGKILL its process group once that fraction is done. Wall time, peak RSS, units."""
    progress = out.with_suffix(".progress.json")
    command = [sys.executable, "-m", "emotion_core", "batch", *inputs, "--out", str(out), "--engine", engine]
    command += ["--workers", "2", "--progress-file", str(progress)]
    started = time.monotonic()
    child = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
    )
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss(child.pid))
        if kill_at is not None:
            try:
                state = json.loads(progress.read_text())
            except (OSError, ValueError):
                state = {}
            if state.get("total") and state.get("done", 0) >= kill_at * state["total"]:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                return {"seconds": time.monotonic() - started, "peak_rss": peak, "killed": True}
        time.sleep(0.25)
    seconds = time.monotonic() - started
    summary = json.loads(child.stdout.read().decode().strip().splitlines()[-1])
    return {"seconds": seconds, "peak_rss": peak, **summary}


def bench(inputs: list[str], root: Path, engine: str, n: int) -> dict:
    full = run(inputs, root / f"{engine}-full.parquet", engine)
    resumed_out = root / f"{engine}-resume.parquet"
    run(inputs, resumed_out, engine, kill_at=0.5)
    resume = run(inputs, resumed_out, engine)
    return {"engine": engine, "n": n, **{f"full_{k}": v for k, v in full.items()}, "resume": resume}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="FER2013 images (default 100,000)")
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--rss-n", type=int, default=1000, help="a small run's N, to show RSS does not grow with N")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    rows = []
    small = run(make_input(root, args.rss_n), root / "small.parquet", "local")
    print(
        f"local, n={args.rss_n}: {small['rate']:.1f}/s, peak RSS {small['peak_rss'] / 2**20:.0f} MiB", file=sys.stderr
    )
    inputs = make_input(root, args.n)
    for engine in args.engines.split(","):
        rows.append(bench(inputs, root, engine, args.n))
        print(json.dumps(rows[-1]), file=sys.stderr)
    print("| engine | images | images/s | peak RSS (MiB) | resume after kill at 50 %: rerun s (skipped) |")
    print("|---|---|---|---|---|")
    print(f"| local | {args.rss_n + 50:,} | {small['rate']:.1f} | {small['peak_rss'] / 2**20:.0f} | – |")
    for row in rows:
        r = row["resume"]
        print(
            f"| {row['engine']} | {row['n'] + 50:,} | {row['full_rate']:.1f} | {row['full_peak_rss'] / 2**20:.0f} | "
            f"{r['seconds']:.1f} s ({r['skipped']:,} skipped, {r['units']:,} redone) |"
        )


if __name__ == "__main__":
    main()
