"""Batch jobs: mixed inputs with bad files, resume after a kill, the Ray engine's rows equal the local engine's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from emotion_core.batch import BatchConfig, run_batch
from emotion_core.batch.output import done_keys, parts_dir, read_table
from emotion_core.vision.decode import read_image
from tests.conftest import REPO, jpeg_bytes, shared_photo
from tests.test_io import png_claiming
from tests.test_video import write_face_clip

SCORES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """A folder (nested photos, a corrupt, an empty and a pixel-bomb file, a README), a zip and a video."""
    root = tmp_path_factory.mktemp("mixed")
    photos = root / "photos" / "nested"
    photos.mkdir(parents=True)
    face = read_image(shared_photo("01_happy.png"))
    (photos / "a.jpg").write_bytes(jpeg_bytes(face))
    (photos / "b.png").write_bytes(cv2.imencode(".png", read_image(shared_photo("02_sad.png")))[1].tobytes())
    (root / "photos" / "blank.png").write_bytes(cv2.imencode(".png", np.full((64, 64, 3), 90, np.uint8))[1].tobytes())
    (root / "photos" / "truncated.jpg").write_bytes(jpeg_bytes(face)[:300])
    (root / "photos" / "empty.jpg").write_bytes(b"")
    (root / "photos" / "bomb.png").write_bytes(png_claiming(60000, 60000))
    (root / "photos" / "README.txt").write_text("not an image, not an error either")
    with zipfile.ZipFile(root / "more.zip", "w") as archive:
        archive.writestr("x/c.jpg", jpeg_bytes(face))
        archive.writestr("x/notes.jpg", b"these are notes")
    write_face_clip(root / "clip.mp4", face, frames=6, fps=5.0)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    return root


def inputs(root: Path) -> tuple[str, ...]:
    return (str(root / "photos"), str(root / "more.zip"), str(root / "*.mp4"))


def test_mixed_inputs_give_a_row_per_face_and_one_per_bad_file(mixed, random_tiny_run, tmp_path):
    out = tmp_path / "r.parquet"
    summary = run_batch(
        BatchConfig(inputs(mixed), str(out), every=2, model=str(random_tiny_run), workers=2), quiet=True
    )
    rows = pd.read_parquet(out)
    by_source = {Path(s.split("::")[-1]).name: group for s, group in rows.groupby("source")}
    errors = {name: g["error"].iloc[0] for name, g in by_source.items() if g["error"].notna().any()}
    assert set(errors) == {"truncated.jpg", "empty.jpg", "bomb.png", "notes.jpg", "broken.mp4"}
    assert "empty file" in errors["empty.jpg"] and "allowed" in errors["bomb.png"]
    assert "README.txt" not in by_source
    for name in ("a.jpg", "b.png", "c.jpg"):  # one face each, box and 7 scores summing to 1
        face = by_source[name]
        assert len(face) == 1 and face["face"].iloc[0] == 0 and face["w"].iloc[0] > 50
        assert face[SCORES].sum(axis=1).iloc[0] == pytest.approx(1, abs=1e-4)
        assert face["emotion"].iloc[0] == face[SCORES].idxmax(axis=1).iloc[0]
    assert by_source["blank.png"]["face"].isna().all() and by_source["blank.png"]["error"].isna().all()
    clip = by_source["clip.mp4"]
    assert sorted(clip["frame"]) == [0, 2, 4] and sorted(clip["time_s"]) == pytest.approx([0, 0.4, 0.8])
    assert set(rows["model"]) == {"tiny-random"}
    assert summary.errors == 5 and summary.faces == len(rows[rows["face"].notna()])
    assert not parts_dir(out).exists()


def test_rerun_after_a_finished_job_adds_nothing(mixed, random_tiny_run, tmp_path):
    out = tmp_path / "r.csv"
    config = BatchConfig(inputs(mixed), str(out), every=2, model=str(random_tiny_run), workers=2)
    run_batch(config, quiet=True)
    first = pd.read_csv(out)
    again = run_batch(config, quiet=True)
    assert again.units == 0 and again.skipped == len(done_keys(out))
    pd.testing.assert_frame_equal(pd.read_csv(out), first)


def test_a_killed_job_resumes_without_duplicates_or_losses(tmp_path, random_tiny_run, monkeypatch):
    """kill -9 mid-job, rerun: every image exactly once, and the rerun skipped what the first run wrote."""
    folder = tmp_path / "many"
    folder.mkdir()
    face = jpeg_bytes(read_image(shared_photo("01_happy.png")))
    for i in range(400):
        (folder / f"{i:04d}.jpg").write_bytes(face)
    out = tmp_path / "r.parquet"
    command = [sys.executable, "-m", "emotion_core", "batch", str(folder), "--out", str(out), "--workers", "2"]
    command += ["--model", str(random_tiny_run)]
    env = {**os.environ, "EMOTION_BATCH_PART_ROWS": "25"}
    child = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list(parts_dir(out).glob("part-*.parquet"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    child.wait()
    written = len(done_keys(out))
    assert 0 < written < 400, "kill the job midway"
    rerun = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout.splitlines()[-1])
    assert summary["skipped"] == written and summary["units"] == 400 - written
    assert "already done" in rerun.stderr and "img/s" in rerun.stderr  # summary line and the tqdm bar
    rows = read_table(out).to_pandas()
    assert len(rows) == 400 and rows["source"].is_unique


def test_bad_output_and_missing_input_are_one_line_errors(tmp_path, random_tiny_run):
    bad = subprocess.run(
        [sys.executable, "-m", "emotion_core", "batch", str(tmp_path), "--out", str(tmp_path / "r.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        "error: --out must end with .parquet or .csv, not 'r.json'"
    ]
    out = tmp_path / "r.parquet"
    run_batch(BatchConfig((str(tmp_path / "nope"),), str(out), model=str(random_tiny_run)), quiet=True)
    assert "no such file" in pd.read_parquet(out)["error"].iloc[0]


def test_ray_engine_gives_the_local_rows(mixed, random_tiny_run, tmp_path, local_ray):
    local, ray_out = tmp_path / "local.parquet", tmp_path / "ray.parquet"
    common = {"inputs": inputs(mixed), "every": 2, "model": str(random_tiny_run), "workers": 2}
    run_batch(BatchConfig(out=str(local), **common), quiet=True)
    summary = run_batch(BatchConfig(out=str(ray_out), engine="ray", **common), quiet=True)
    key = ["source", "frame", "face"]
    a = pd.read_parquet(local).sort_values(key, na_position="first").reset_index(drop=True)
    b = pd.read_parquet(ray_out).sort_values(key, na_position="first").reset_index(drop=True)
    assert summary.errors == 5
    pd.testing.assert_frame_equal(a.drop(columns=SCORES), b.drop(columns=SCORES))
    np.testing.assert_allclose(a[SCORES].to_numpy(float), b[SCORES].to_numpy(float), atol=1e-5)


def test_ray_workers_run_at_the_drivers_priority(local_ray):
    """Ray lowers its workers' priority by 15 unless told otherwise: on shared cores that starved the job."""

    @local_ray.remote(num_cpus=1)
    def niceness() -> int:
        return os.nice(0)

    assert local_ray.get(niceness.remote()) == os.nice(0)


def test_without_ray_the_ray_engine_says_how_to_install(monkeypatch, tmp_path, capsys):
    from emotion_core.serve.cli import cli

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    monkeypatch.setitem(sys.modules, "ray.data", None)
    assert cli(["batch", str(tmp_path), "--out", str(tmp_path / "r.parquet"), "--engine", "ray"]) == 2
    assert "pip install -r requirements-ray.txt" in capsys.readouterr().err
