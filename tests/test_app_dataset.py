"""Dataset explorer: counts and charts from a tiny dataset made here, a bad path, and the unreadable-file scan."""

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from emotion_core.data.datasets import open_dataset
from emotion_core.paths import SAMPLE_DATA
from emotion_core.storage import OwnerStore

APP = str(Path(__file__).resolve().parent.parent / "app.py")
COUNTS = {"train": {"angry": 3, "happy": 5, "sad": 2}, "test": {"angry": 1, "happy": 2, "sad": 1}}


def make_tree(root: Path) -> Path:
    """train/<class>/*.jpg and test/<class>/*.jpg with COUNTS images, plus one text file posing as a happy face."""
    rng = np.random.default_rng(0)
    for split, classes in COUNTS.items():
        for label, n in classes.items():
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                cv2.imwrite(str(folder / f"{i}.jpg"), rng.integers(0, 255, (48, 48), dtype=np.uint8))
    (root / "train" / "happy" / "corrupt.jpg").write_text("not a jpeg")
    return root


def open_page(data: Path, tmp_path: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("EMOTION_RUNS", str(tmp_path / "runs"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["data_path"] = str(data)
    at.switch_page("pages/dataset.py").run()
    assert not at.exception, at.exception
    return at


def chart_rows(at: AppTest) -> pd.DataFrame:
    """The data behind every vega-lite chart on the page, concatenated."""
    frames = [
        convert_arrow_bytes_to_pandas_df(d.data.data) for c in at.get("vega_lite_chart") for d in c.proto.datasets
    ]
    return pd.concat(frames, ignore_index=True)


def test_distribution_charts_and_table_match_the_files(tmp_path, monkeypatch):
    data = make_tree(tmp_path / "tiny")
    at = open_page(data, tmp_path, monkeypatch)
    expected = {(split, label): n for split, classes in COUNTS.items() for label, n in classes.items()}
    expected["train", "happy"] += 1  # the listing counts files; decoding is what finds the corrupt one

    rows = chart_rows(at)
    assert {(r.split, r["class"]): r.images for _, r in rows.iterrows()} == expected
    table = at.dataframe[0].value
    assert table.loc["happy", "train"] == 6 and table.loc["sad", "total"] == 3
    imbalance = next(m.value for m in at.markdown if "Imbalance" in m.value)
    assert "train 3.0×" in imbalance and "test 2.0×" in imbalance


def test_sample_grid_and_scan_report_the_corrupt_file(tmp_path, monkeypatch):
    data = make_tree(tmp_path / "tiny")
    at = open_page(data, tmp_path, monkeypatch)
    class_box = next(s for s in at.selectbox if s.label == "Class")
    class_box.set_value("happy").run()
    assert len(at.get("image")[0].proto.imgs) == 5, "five readable happy faces"
    assert "corrupt.jpg" in at.dataframe[-1].value["file"].iloc[0]

    next(b for b in at.button if b.label.startswith("Decode every image")).click().run()
    assert not at.exception
    assert "among all 11 images of train" in at.warning[0].value
    assert list(at.dataframe[-1].value["file"]) == ["train/happy/corrupt.jpg"]


def test_bad_path_is_one_error_not_a_traceback(tmp_path, monkeypatch):
    at = open_page(tmp_path / "missing.zip", tmp_path, monkeypatch)
    assert len(at.error) == 1 and "no such dataset path" in at.error[0].value


def test_default_is_the_committed_sample(tmp_path, monkeypatch):
    monkeypatch.delenv("EMOTION_DATA", raising=False)
    at = open_page(SAMPLE_DATA, tmp_path, monkeypatch)
    table = at.dataframe[0].value
    assert table["total"].sum() == sum(1 for _ in SAMPLE_DATA.rglob("*.jpg"))


def test_an_uploaded_zip_is_stored_under_a_name_derived_from_its_content(tmp_path):
    store = OwnerStore("visitor-a", root=tmp_path)
    data = make_zip_bytes(make_tree(tmp_path / "tiny"))
    first, again = store.put(data, ".zip"), store.put(data, ".zip")
    assert first == again, "a rerun with the same upload reuses the file"
    assert first.parent == store.folder and first.suffix == ".zip" and first.read_bytes() == data
    assert store.put(data + b"\0", ".zip") != first
    assert open_dataset(first).counts().loc["happy", "train"] == 6


def make_zip_bytes(root: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*.jpg")):
            archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()
