"""Batch jobs killed midway and rerun: the Ray engine's process group killed halfway, a video resumed past its
start (both engines), a two-node Ray cluster (one node killed mid-job), and the packets Ray hands out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from emotion_core.batch import BatchConfig, run_batch
from emotion_core.batch.output import done_keys
from emotion_core.batch.packets import Packet, plan_packets
from emotion_core.batch.sources import Item, iter_items, resume_frame
from emotion_core.vision.decode import read_image
from tests.conftest import REPO, jpeg_bytes, shared_photo

SCORES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
KEY = ["source", "frame", "face"]
SMALL_PARTS = {"EMOTION_BATCH_PART_ROWS": "8", "EMOTION_BATCH_PACKET_UNITS": "8"}


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """160 JPEGs of three Yale photos (320x243: detection takes a few ms each, so a job lasts a few seconds)."""
    folder = tmp_path_factory.mktemp("photos")
    faces = [jpeg_bytes(read_image(shared_photo(name))) for name in ("01_happy.png", "02_sad.png", "03_normal.png")]
    for i in range(160):
        (folder / f"{i:03d}.jpg").write_bytes(faces[i % 3])
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 120-frame 480x360 clip of a face drifting right and back (every frame a little different)."""
    face = read_image(shared_photo("01_happy.png"))
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (480, 360))
    for i in range(120):
        frame = np.full((360, 480, 3), 128, np.uint8)
        x = 40 + 2 * abs(i % 60 - 30)
        frame[60 : 60 + face.shape[0], x : x + face.shape[1]] = face
        writer.write(frame)
    writer.release()
    return path


def rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out).sort_values(KEY, na_position="first").reset_index(drop=True)


def assert_same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """The same rows (every column), scores equal to float rounding (batches differ between engines)."""
    pd.testing.assert_frame_equal(a.drop(columns=SCORES), b.drop(columns=SCORES))
    np.testing.assert_allclose(a[SCORES].to_numpy(float), b[SCORES].to_numpy(float), atol=1e-5)


@pytest.fixture(scope="module")
def local_rows(photos, clip, random_tiny_run, tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The local engine's rows for the photos and for the clip: what every resumed job must end with."""
    root = tmp_path_factory.mktemp("local")
    model = str(random_tiny_run)
    run_batch(BatchConfig((str(photos),), str(root / "photos.parquet"), model=model, workers=2), quiet=True)
    run_batch(BatchConfig((str(clip),), str(root / "clip.parquet"), model=model, workers=2), quiet=True)
    return {"photos": rows(root / "photos.parquet"), "clip": rows(root / "clip.parquet")}


def batch_command(inputs: list[Path], out: Path, model: Path, engine: str) -> list[str]:
    command = [sys.executable, "-m", "emotion_core", "batch", *map(str, inputs), "--out", str(out)]
    return command + ["--model", str(model), "--engine", engine, "--workers", "2"]


def kill_group_when_written(child: subprocess.Popen, out: Path, at: int, timeout: float = 240) -> int:
    """SIGKILL the job's process group once ``at`` units are in its part files; how many were written."""
    deadline = time.monotonic() + timeout
    written = 0
    while child.poll() is None and time.monotonic() < deadline:
        written = len(done_keys(out))
        if written >= at:
            break
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    return len(done_keys(out))


def session_processes(sid: int) -> list[str]:
    """Live processes in session ``sid``: a kill of the job's group must leave no Ray process behind."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                left.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:80])
        except (OSError, ValueError):
            continue
    return left


def rerun(command: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


# --- packets: what the Ray engine hands out (no Ray needed) ---------------------------------------------------


def test_packets_cover_what_is_not_done_and_resume_a_video_past_its_written_frames(clip, monkeypatch):
    monkeypatch.setenv("EMOTION_BATCH_PACKET_UNITS", "10")
    images = [Item(f"{i}.jpg", "image", f"{i}.jpg") for i in range(25)]
    video = Item(str(clip), "video", str(clip))
    done = {("3.jpg", -1)} | {(str(clip), f) for f in [*range(0, 46, 2), 50]}  # 0..46 then a hole at 48
    resumed: dict[str, int] = {}
    packets = list(plan_packets([*images, video], 2, done, resumed))
    assert [len(p.items) for p in packets if p.video is None] == [10, 10, 4]
    segments = [(p.start, p.stop, p.skip) for p in packets if p.video is not None]
    assert segments == [(46, 60, (50,)), (60, 80, ()), (80, 100, ()), (100, None, ())]  # the last one open-ended
    assert resumed == {str(clip): 46}
    assert sum(p.units for p in packets if p.video is not None) == len(range(46, 120, 2)) - 1
    frames = [u.frame for p in packets if p.video is not None for u in p.iter_units(2)]
    assert frames == [f for f in range(46, 120, 2) if f != 50]  # every frame left, each once, in order
    assert all(Packet.from_json(p.to_json()) == p for p in packets)  # as they travel to the workers


def test_a_node_workers_rows_are_the_local_engines(photos, clip, local_rows, random_tiny_run, monkeypatch):
    """The Ray engine's actor, run in this process: packets in, the local engine's rows out (whole units)."""
    from emotion_core.batch.ray_stages import DEBUG_COLUMNS, NodeWorker

    monkeypatch.setenv("EMOTION_BATCH_PACKET_UNITS", "50")
    worker = NodeWorker(str(random_tiny_run), every=1, threads=2)
    for name, inputs in (("photos", [str(photos)]), ("clip", [str(clip)])):
        tables = [worker.run(p.to_json()) for p in plan_packets(iter_items(inputs), 1, set())]
        got = pd.concat([t.to_pandas() for t in tables]).drop(columns=list(DEBUG_COLUMNS))
        assert len(tables) > 1 and set(tables[0].column("node").to_pylist()) == {worker.node}
        got = got.sort_values(KEY, na_position="first").reset_index(drop=True)
        assert_same_rows(got.astype(local_rows[name].dtypes.to_dict()), local_rows[name])


# --- kills and reruns -----------------------------------------------------------------------------------------


@pytest.mark.slow  # a subprocess with its own local Ray, killed; the rerun on the session's Ray
def test_a_ray_job_killed_halfway_resumes_with_the_local_engines_rows(
    photos, local_rows, random_tiny_run, tmp_path, local_ray, monkeypatch
):
    out = tmp_path / "ray.parquet"
    command = batch_command([photos], out, random_tiny_run, "ray")
    env = {**os.environ, **SMALL_PARTS}
    env.pop("RAY_ADDRESS", None)
    child = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    written = kill_group_when_written(child, out, at=80)
    assert 0 < written < 160, f"the kill must land midway ({written} of 160 written)"
    time.sleep(3)
    left = session_processes(child.pid)
    assert not left, f"processes outlived the killed job: {left}"
    for name, value in SMALL_PARTS.items():
        monkeypatch.setenv(name, value)
    config = BatchConfig((str(photos),), str(out), model=str(random_tiny_run), engine="ray", workers=2)
    summary = run_batch(config, quiet=True)
    assert summary.skipped >= written > 0 and summary.units == 160 - summary.skipped
    assert_same_rows(rows(out), local_rows["photos"])


@pytest.mark.slow  # a subprocess, and the session's local Ray for the ray case
@pytest.mark.parametrize("engine", ["local", "ray"])
def test_a_video_killed_halfway_resumes_past_its_start(engine, clip, local_rows, random_tiny_run, tmp_path, request):
    if engine == "ray":
        request.getfixturevalue("local_ray")
    out = tmp_path / "clip.parquet"
    env = {**os.environ, **SMALL_PARTS}
    child = subprocess.Popen(
        batch_command([clip], out, random_tiny_run, "local"),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    written = kill_group_when_written(child, out, at=30)
    assert 0 < written < 120, f"the kill must land midway ({written} of 120 frames written)"
    first_missing = resume_frame(str(clip), 1, done_keys(out))
    config = BatchConfig((str(clip),), str(out), model=str(random_tiny_run), engine=engine, workers=2)
    summary = run_batch(config, quiet=True)
    assert summary.resumed == {str(clip): first_missing} and first_missing > 0  # decoding started past frame 0
    assert summary.skipped == written and summary.units == 120 - written
    assert_same_rows(rows(out), local_rows["clip"])


@pytest.mark.slow  # a two-node Ray cluster, three jobs on it
def test_a_two_node_cluster_gives_the_local_rows_and_a_lost_node_costs_no_row(
    photos, local_rows, random_tiny_run, tmp_path
):
    """Head and a second node (one CPU each) on this machine, reached through RAY_ADDRESS as a user would."""
    pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")
    from ray.cluster_utils import Cluster

    store = {"num_cpus": 1, "object_store_memory": 100 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args=store)
    try:
        second = cluster.add_node(**store)
        cluster.wait_for_nodes()
        env = {**os.environ, **SMALL_PARTS, "RAY_ADDRESS": cluster.address}
        out = tmp_path / "two-nodes.parquet"
        summary = rerun(batch_command([photos], out, random_tiny_run, "ray"), env)
        assert set(summary["nodes"]) == {cluster.head_node.node_id, second.node_id}, summary["nodes"]
        assert min(summary["nodes"].values()) > 0 and sum(summary["nodes"].values()) == 160  # both detected
        print(f"two nodes, rows per node: {summary['nodes']} (head {cluster.head_node.node_id})")
        assert_same_rows(rows(out), local_rows["photos"])

        lost = tmp_path / "lost-a-node.parquet"
        command = batch_command([photos], lost, random_tiny_run, "ray")
        child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 240
        while len(done_keys(lost)) < 40 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        written = len(done_keys(lost))
        cluster.remove_node(second, allow_graceful=False)
        _, stderr = child.communicate(timeout=300)
        print(f"second node killed with {written} of 160 rows written; the job exited {child.returncode}")
        if child.returncode != 0:  # Ray could not finish on the head: one line says so, no traceback
            last = stderr.strip().splitlines()[-1]
            assert "Traceback" not in stderr and last.startswith("error: ") and "rerun" in last, stderr[-2000:]
        summary = rerun(command, env)
        assert_same_rows(rows(lost), local_rows["photos"])
        print(f"rerun on the head: {summary['skipped']} skipped, {summary['units']} done")
        assert set(summary["nodes"]) <= {cluster.head_node.node_id}
    finally:
        cluster.shutdown()
