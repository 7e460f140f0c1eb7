"""Batch-job figures: images/s, peak RSS (the whole process tree, Ray's raylet and workers included) and the time to
resume after ``kill -9`` of the job's process group at 50 %, for the local engine and local Ray with 2 workers.

Input: N images, FER2013 train members from ../shared/data/fer2013/fer2013.zip repeated (cycled into one zip of N
members) plus the Yale photos in ../shared/data/faces. ``python benchmarks/batch.py --n 100000`` (the default);
use a smaller --n on a small machine. ``--flat 1000,10000`` adds full runs at those sizes (peak RSS should not grow
with N); ``--repo PATH`` runs another checkout's ``python -m emotion_core`` (before/after on the same machine, back
to back). Prints a Markdown table; each run's summary JSON (Ray's per-stage seconds and rows per node) on stderr.
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
from typing import Any

import pyarrow.parquet as pq

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


def tree_usage(pid: int) -> tuple[int, dict[int, float]]:
    """Resident bytes of pid and all its descendants (Ray's raylet and workers are descendants of the driver), and
    the CPU seconds each has used so far (on shared cores, CPU seconds compare engines better than wall time)."""
    total, cpu, seen, todo = 0, {}, set(), [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) * 1024
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            cpu[p] = (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            pass
    return total, cpu


def session_left(sid: int) -> list[int]:
    """Processes still in session ``sid`` (a kill of the group must leave none: no orphaned raylet or worker)."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            left.append(int(stat.parent.name))
    return left


def run(inputs: list[str], out: Path, engine: str, kill_at: float | None = None, repo: Path = REPO) -> dict:
    """One job; with kill_at, SIGKILL its process group once that fraction is done. Wall time, peak RSS, units."""
    progress = out.with_suffix(".progress.json")
    command = [sys.executable, "-m", "emotion_core", "batch", *inputs, "--out", str(out), "--engine", engine]
    command += ["--workers", "2", "--progress-file", str(progress)]
    started = time.monotonic()
    child = subprocess.Popen(
        command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True
    )
    peak, cpu = 0, {}
    while child.poll() is None:
        rss, now = tree_usage(child.pid)
        peak, cpu = max(peak, rss), {**cpu, **now}
        if kill_at is not None:
            try:
                state = json.loads(progress.read_text())
            except (OSError, ValueError):
                state = {}
            if state.get("total") and state.get("done", 0) >= kill_at * state["total"]:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                time.sleep(2)
                left = session_left(child.pid)
                for pid in left:  # report, then clean up, so the next run is measured alone
                    os.kill(pid, signal.SIGKILL)
                seconds = time.monotonic() - started
                return {
                    "seconds": seconds,
                    "peak_rss": peak,
                    "cpu_s": sum(cpu.values()),
                    "killed": True,
                    "left": len(left),
                }
        time.sleep(0.25)
    seconds = time.monotonic() - started
    summary = json.loads(child.stdout.read().decode().strip().splitlines()[-1])
    return {"seconds": seconds, "peak_rss": peak, "cpu_s": round(sum(cpu.values()), 1), **summary}


def bench(inputs: list[str], root: Path, engine: str, n: int, repo: Path) -> dict:
    full = run(inputs, root / f"{engine}-full.parquet", engine, repo=repo)
    resumed_out = root / f"{engine}-resume.parquet"
    killed = run(inputs, resumed_out, engine, kill_at=0.5, repo=repo)
    resume = run(inputs, resumed_out, engine, repo=repo)
    rows = pq.read_table(resumed_out, columns=["source", "frame", "face"]).to_pandas()
    full_rows = pq.read_table(root / f"{engine}-full.parquet", columns=["source", "frame", "face"]).to_pandas()
    resume["same_rows"] = _keys(rows) == _keys(full_rows) and not rows.duplicated().any()
    resume["left_after_kill"] = killed["left"]
    return {"engine": engine, "n": n, **{f"full_{k}": v for k, v in full.items()}, "resume": resume}


def _keys(rows: Any) -> list[tuple]:
    return sorted(rows.fillna(-2).itertuples(index=False, name=None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="FER2013 images (default 100,000; 0: no kill)")
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--flat", default="", help="extra full runs at these N, comma-separated (RSS against N)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to run (default: this one)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    engines = args.engines.split(",")
    table = []
    for n in [int(v) for v in args.flat.split(",") if v]:
        for engine in engines:
            flat = run(make_input(root, n), root / f"flat-{engine}-{n}.parquet", engine, repo=args.repo)
            print(json.dumps({"engine": engine, "n": n, **flat}), file=sys.stderr)
            figures = f"{flat['rate']:.1f} | {flat['cpu_s']:.0f} | {flat['peak_rss'] / 2**20:.0f}"
            table.append(f"| {engine} | {n + 50:,} | {figures} | – |")
    inputs = make_input(root, args.n) if args.n else []
    for engine in engines if args.n else []:
        row = bench(inputs, root, engine, args.n, args.repo)
        print(json.dumps(row), file=sys.stderr)
        r = row["resume"]
        table.append(
            f"| {row['engine']} | {row['n'] + 50:,} | {row['full_rate']:.1f} | {row['full_cpu_s']:.0f} | "
            f"{row['full_peak_rss'] / 2**20:.0f} | "
            f"{r['seconds']:.1f} s ({r['skipped']:,} skipped, {r['units']:,} redone; same rows: {r['same_rows']}) |"
        )
    print(f"checkout: {args.repo}")
    print("| engine | images | images/s | CPU s | peak RSS (MiB) | resume after kill at 50 %: rerun s (skipped) |")
    print("|---|---|---|---|---|---|")
    print("\n".join(table))


if __name__ == "__main__":
    main()
